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
  /** A resource sent to the admin API fails its schema (the config file's); `details.field` names the path. */
  'resource_invalid',
  /** The resource already exists (a create with an id in use). */
  'resource_conflict',
  /** `If-Match` names a version of the resource that is no longer current (someone else changed it). */
  'precondition_failed',
  'payload_too_large',
  /** A write named a revision of a stored configuration that is no longer the current one (issue 14). */
  'revision_conflict',
  /** A result query or page path went over its time, memory, output or length budget (RS-02). */
  'query_budget_exceeded',
  // inbound identity
  'unauthenticated',
  'forbidden_origin',
  /** Authenticated, but none of the caller's roles in this tenant allows the route. */
  'forbidden',
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
  /** An `mcp:` service's protected resource or authorization server metadata, or client registration, failed. */
  'oauth_discovery_failed',
  // upstream
  'upstream_blocked',
  'upstream_timeout',
  'upstream_too_large',
  'upstream_unreachable',
  'upstream_error',
  /** The upstream refused a token that was just refreshed (OA-16): one forced refresh and one retry are spent. */
  'upstream_unauthorized',
  /**
   * A federated MCP server refused the token for lacking a scope (`WWW-Authenticate: Bearer
   * error="insufficient_scope"`, MCP authorization "step-up"): `details.missingScopes` names what it asked for.
   */
  'upstream_insufficient_scope',
  'upstream_rate_limited',
  'circuit_open',
  /** The client cancelled the call (`notifications/cancelled`, a closed request) while its upstream request ran. */
  'cancelled',
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

/**
 * A write of a tenant's stored configuration named a revision that is no longer the current one (another write
 * came first): nothing was written. `currentRevision` is null when the configuration does not exist (any more).
 */
export class RevisionConflictError extends GatehouseError {
  constructor(tenant: string, expectedRevision: number | null, currentRevision: number | null) {
    super(
      'revision_conflict',
      expectedRevision === null
        ? `The configuration of tenant ${tenant} already exists (revision ${currentRevision})`
        : `The configuration of tenant ${tenant} changed: revision ${expectedRevision} was read, ${currentRevision ?? 'none'} is current`,
      { tenant, expectedRevision, currentRevision },
    );
  }
}

/**
 * What the gateway does with each code, in one table (STYLE.md "Errors"): the HTTP status of the problem+json
 * and of the MCP endpoint's JSON-RPC errors, the decision an audit record of a call that ends with it carries
 * (`deny`: refused by policy or by a person, counted by the denials alert; `error`: something failed), and
 * whether the same call, sent again unchanged after a wait and with no action by a person, may succeed.
 * `satisfies Record<ErrorCode, ...>`: a code added to `errorCodes` without its row does not compile.
 */
export interface ErrorRule {
  readonly status: number;
  readonly decision: 'deny' | 'error';
  readonly retryable: boolean;
}

const deny = (status: number): ErrorRule => ({ status, decision: 'deny', retryable: false });
const fails = (status: number, retryable = false): ErrorRule => ({ status, decision: 'error', retryable });

export const errorTable = {
  config_invalid: fails(500),
  description_invalid: fails(400),
  invalid_request: fails(400),
  invalid_arguments: deny(400),
  resource_invalid: fails(422),
  resource_conflict: fails(409),
  precondition_failed: fails(412),
  payload_too_large: fails(413),
  /** Read the resource again and redo the change: `412 Precondition Failed`, as for a stale `If-Match`. */
  revision_conflict: fails(412),
  /** A query or page path over its budget: refused as a failure of that query, as before the table. */
  query_budget_exceeded: fails(422),
  unauthenticated: deny(401),
  forbidden_origin: deny(403),
  forbidden: deny(403),
  not_found: fails(404),
  method_not_allowed: fails(405),
  tool_not_found: deny(404),
  tool_not_allowed: deny(403),
  access_mode_denied: deny(403),
  scope_missing: deny(403),
  approval_required: deny(403),
  /** A person denied this exact call: a denial, not a failure (it reaches the denials alert). */
  approval_denied: deny(403),
  rate_limited: { status: 429, decision: 'deny', retryable: true },
  connection_required: deny(403),
  reauth_required: deny(403),
  credential_unavailable: fails(503),
  decrypt_failed: fails(500),
  master_key_missing: fails(500),
  oauth_state_invalid: fails(400),
  oauth_issuer_mismatch: fails(400),
  oauth_denied: deny(403),
  oauth_token_failed: fails(502, true),
  oauth_discovery_failed: fails(502, true),
  upstream_blocked: deny(502),
  upstream_timeout: fails(504, true),
  upstream_too_large: fails(502),
  upstream_unreachable: fails(502, true),
  upstream_error: fails(502, true),
  upstream_unauthorized: fails(502),
  /** The server's own policy refused the grant: a denial a person resolves by consenting to more (a step-up link). */
  upstream_insufficient_scope: deny(403),
  upstream_rate_limited: fails(429, true),
  circuit_open: fails(503, true),
  /** Not a failure of the upstream: 499 as proxies log a request its client closed; nobody reads the answer. */
  cancelled: fails(499, true),
  store_unavailable: fails(503, true),
  audit_unavailable: fails(503, true),
  internal: fails(500),
} as const satisfies Record<ErrorCode, ErrorRule>;

/** HTTP status for each code (the table's `status`), used by the problem+json renderer and the MCP endpoint. */
export const httpStatusOf: Readonly<Record<ErrorCode, number>> = Object.fromEntries(
  errorCodes.map((code) => [code, errorTable[code].status]),
) as Record<ErrorCode, number>;

/** The audit decision of a call that ended with `code` (the table's `decision`). */
export function decisionOf(code: ErrorCode): 'deny' | 'error' {
  return errorTable[code].decision;
}

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
