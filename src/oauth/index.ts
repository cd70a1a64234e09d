export type { AccessibleSite } from './accessible-resources.ts';
export {
  clientMetadataDocumentOf,
  clientMetadataDocumentPath,
  clientMetadataDocumentUrlOf,
  redirectUriOf,
  usesClientMetadataDocument,
} from './client-metadata-document.ts';
export {
  type AuthorizationRequest,
  type AuthorizationRequestInput,
  createAuthorizationRequest,
} from './create-authorization-request.ts';
export {
  type CompletedConnection,
  type ConnectFlow,
  type ConnectFlowDependencies,
  type ConnectionToken,
  type ConnectLink,
  type ConnectLinkRequest,
  type ConnectSecurityEvent,
  clientCredentialsSubject,
  connectTtlMs,
  cookieNameOf,
  createConnectFlow,
  type InspectedLink,
  type OAuthSealer,
  type SiteChoice,
  type StartedAuthorization,
} from './create-connect-flow.ts';
export {
  createOAuthFetch,
  isLoopbackUrl,
  type OAuthFetch,
  type OAuthRequestOptions,
} from './create-oauth-fetch.ts';
export {
  discoverResourceAuthorization,
  type RegisteredClient,
  type ResourceAuthorization,
  registerClient,
} from './discover-resource-authorization.ts';
export { isSafeReturnPath } from './is-safe-return-path.ts';
export type { ConfiguredOAuthAuth, OAuthHttpOptions, OAuthServiceAuth, TokenSet } from './oauth-service.ts';
export { refreshAndRetry } from './refresh-and-retry.ts';
export {
  createRefreshEngine,
  type EnsureFreshOptions,
  type FreshToken,
  type RefreshEngine,
  type RefreshEngineDependencies,
  type RefreshEvent,
  type RefreshPhase,
} from './refresh-engine.ts';
export {
  createLockOwner,
  createStoreRefreshLock,
  type RefreshLock,
  type StoreRefreshLockOptions,
} from './refresh-lock.ts';
export { createRedisRefreshLock, type RedisLeaseClient, type RedisRefreshLockOptions } from './refresh-redis-lock.ts';
export {
  createRefreshRequestSender,
  type RefreshClientSettings,
  type RefreshFailureReason,
  type RefreshOutcome,
  type RefreshRequest,
  type SendRefresh,
  sendRefreshRequest,
} from './refresh-request.ts';
export { createServiceRefreshSender, type ServiceRefreshSenderOptions } from './refresh-service-sender.ts';
export {
  discoveryRequest,
  processDiscoveryResponse,
  type ResolvedAuthorizationServer,
  reasonOf,
  resolveAuthorizationServer,
  toConfiguredAuthorizationServer,
} from './resolve-authorization-server.ts';
export {
  authorizationCodeRequest,
  clientCredentialsRequest,
  type OAuthClientCredentials,
  processAuthorizationCodeResponse,
  processClientCredentialsResponse,
  processRevocationResponse,
  revocationRequest,
  selectClientAuth,
  toTokenSet,
} from './token-requests.ts';
export { checkIssuer, validateCallback } from './validate-callback.ts';
