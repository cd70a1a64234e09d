/**
 * The one error type of Gatehouse. `code` is a stable literal (tests and clients match on it, never on the
 * message); `details` carries non-secret context such as a config path, an argument name or a retry time.
 * Retired codes are never reused for another meaning.
 */
export const errorCodes = [
  // configuration and input
  'config_invalid',
  'description_invalid',
  'invalid_request',
  'invalid_arguments',
  'payload_too_large',
  /** A result query or page path went over its time, memory, output or length budget (RS-02). */
  'query_budget_exceeded',
  // inbound identity
  'unauthenticated',
  'forbidden_origin',
  'not_found',
  'method_not_allowed',
  'tool_not_found',
  // policy
  'tool_not_allowed',
  'access_mode_denied',
  'scope_missing',
  'approval_required',
  'rate_limited',
  'approval_denied',
  // credentials and vault
  'connection_required',
  'reauth_required',
  'credential_unavailable',
  'decrypt_failed',
  'master_key_missing',
  // OAuth connect flow (towards upstream authorization servers)
  'oauth_state_invalid',
  'oauth_issuer_mismatch',
  'oauth_denied',
  'oauth_token_failed',
  // upstream
  'upstream_blocked',
  'upstream_timeout',
  'upstream_too_large',
  'upstream_unreachable',
  'upstream_error',
  /** The upstream refused a token that was just refreshed (OA-16): one forced refresh and one retry are spent. */
  'upstream_unauthorized',
  'upstream_rate_limited',
  'circuit_open',
  // internal
  'store_unavailable',
  'audit_unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** Non-secret, JSON-safe context for an error. Never put a credential or an upstream body here. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | readonly string[] | null>>;

export class GatehouseError extends Error {
  override readonly name = 'GatehouseError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** HTTP status for each code, used by the problem+json renderer and the MCP endpoint. */
export const httpStatusOf: Readonly<Record<ErrorCode, number>> = {
  config_invalid: 500,
  description_invalid: 400,
  invalid_request: 400,
  invalid_arguments: 400,
  payload_too_large: 413,
  query_budget_exceeded: 422,
  unauthenticated: 401,
  forbidden_origin: 403,
  not_found: 404,
  method_not_allowed: 405,
  tool_not_found: 404,
  tool_not_allowed: 403,
  access_mode_denied: 403,
  scope_missing: 403,
  approval_required: 403,
  approval_denied: 403,
  rate_limited: 429,
  connection_required: 403,
  reauth_required: 403,
  credential_unavailable: 503,
  decrypt_failed: 500,
  master_key_missing: 500,
  oauth_state_invalid: 400,
  oauth_issuer_mismatch: 400,
  oauth_denied: 403,
  oauth_token_failed: 502,
  upstream_blocked: 502,
  upstream_timeout: 504,
  upstream_too_large: 502,
  upstream_unreachable: 502,
  upstream_error: 502,
  upstream_unauthorized: 502,
  upstream_rate_limited: 429,
  circuit_open: 503,
  store_unavailable: 503,
  audit_unavailable: 503,
  internal: 500,
};

export function isGatehouseError(value: unknown): value is GatehouseError {
  return value instanceof GatehouseError;
}

/**
 * Turns anything thrown into a GatehouseError without copying the original message, which may carry request
 * headers or an upstream body. The original stays reachable as a non-enumerable `cause` for debugging only.
 */
export function toGatehouseError(value: unknown): GatehouseError {
  if (value instanceof GatehouseError) return value;
  const error = new GatehouseError('internal', 'Internal error');
  Object.defineProperty(error, 'cause', { value, enumerable: false });
  return error;
}
