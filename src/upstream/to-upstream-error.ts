import { GatehouseError } from '../core/index.ts';

/** Where a call failed; `connect` means no byte of the request reached the upstream (safe to retry). */
export type UpstreamPhase = 'connect' | 'response' | 'body';

const timeoutCodes = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const connectCodes = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
/**
 * A low-level error code safe to show: a plain identifier (`ECONNREFUSED`, `UND_ERR_SOCKET`, `CERT_HAS_EXPIRED`),
 * never text an upstream or a library wrote.
 */
export const safeCode = /^[A-Z][A-Z0-9_]{1,63}$/;

/**
 * Turns anything thrown while calling an upstream (undici errors, socket and TLS errors, aborts) into a
 * GatehouseError whose message, details and stack hold nothing but a fixed sentence, the origin and the error
 * code: never a header, a URL query, a body or the original message (LG-02). The original error is not attached,
 * not even as a non-enumerable `cause`, because `util.inspect` prints causes. A GatehouseError passes through.
 *
 * Codes: timeouts -> `upstream_timeout`; over-size -> `upstream_too_large`; refused, reset, DNS and TLS failures ->
 * `upstream_unreachable`; anything else -> `upstream_error`. `details.reason` is the low-level code when it is a
 * plain identifier (`ECONNREFUSED`, `UND_ERR_SOCKET`, `CERT_HAS_EXPIRED`).
 */
export function toUpstreamError(error: unknown, origin?: string, phase?: UpstreamPhase): GatehouseError {
  if (error instanceof GatehouseError) return error;
  const raw = typeof error === 'object' && error !== null ? (error as { code?: unknown; name?: unknown }) : {};
  const rawCode = typeof raw.code === 'string' ? raw.code : typeof raw.name === 'string' ? raw.name : '';
  const reason = safeCode.test(rawCode) ? rawCode : 'UNKNOWN';
  const where = origin === undefined ? 'upstream' : `upstream ${origin}`;
  const details: Record<string, string> = { reason };
  if (origin !== undefined) details['origin'] = origin;
  // A connect failure is known to have sent nothing, whatever phase the caller was in.
  const inferredPhase = connectCodes.has(reason) ? 'connect' : phase;
  if (inferredPhase !== undefined) details['phase'] = inferredPhase;

  if (timeoutCodes.has(reason)) return new GatehouseError('upstream_timeout', `Call to ${where} timed out`, details);
  if (reason === 'UND_ERR_RES_EXCEEDED_MAX_SIZE' || reason === 'UND_ERR_HEADERS_OVERFLOW') {
    return new GatehouseError('upstream_too_large', `Response from ${where} is too large`, details);
  }
  if (
    connectCodes.has(reason) ||
    /^E[A-Z]+$/.test(reason) ||
    /CERT|TLS|SSL/.test(reason) ||
    reason === 'UND_ERR_SOCKET'
  ) {
    return new GatehouseError('upstream_unreachable', `Connection to ${where} failed (${reason})`, details);
  }
  return new GatehouseError('upstream_error', `Call to ${where} failed (${reason})`, details);
}
