/**
 * Milliseconds to wait from a `Retry-After` header value (RFC 9110 §10.2.3): delay-seconds or an HTTP-date,
 * relative to `nowMs` (wall clock). A date in the past is 0. Anything else (absent, negative, garbage) is
 * `undefined`, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  if (!/^[A-Za-z]{3},? /.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
