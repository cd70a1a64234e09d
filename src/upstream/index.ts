export {
  applyCredential,
  applyFixedHeaders,
  listCredentialSecrets,
  type TokenPlacement,
  type UpstreamCredential,
} from './apply-credential.ts';
export { type BuiltRequest, buildRequest, reservedHeaderNames } from './build-request.ts';
export {
  type AddressGuard,
  checkConnections,
  createAddressGuard,
  createGuardedConnector,
  type ResolvedAddress,
  type ResolveHost,
} from './create-address-guard.ts';
export {
  type CallOutcomeKind,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  createCircuitBreaker,
} from './create-circuit-breaker.ts';
export {
  createMcpUpstream,
  type McpCallAnswer,
  type McpCallOptions,
  type McpCompleteParams,
  type McpFeatureListing,
  type McpLogLevel,
  type McpLogMessage,
  type McpTarget,
  type McpUpstream,
  type McpUpstreamOptions,
  mcpLogLevels,
  toMcpUpstreamError,
} from './create-mcp-upstream.ts';
export { createRetryingUpstream, type RetryingUpstreamOptions } from './create-retrying-upstream.ts';
export {
  createUpstreamClient,
  type UpstreamCall,
  type UpstreamClient,
  type UpstreamClientOptions,
  type UpstreamResponse,
} from './create-upstream-client.ts';
export { isBlockedAddress } from './is-blocked-address.ts';
export { parseRetryAfter } from './parse-retry-after.ts';
export { readProtocolAnswer } from './read-protocol-answer.ts';
export { toUpstreamError, type UpstreamPhase } from './to-upstream-error.ts';
