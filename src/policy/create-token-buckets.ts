import type { Clock } from '../core/index.ts';

/** Outcome of taking one token: admitted, or refused with the seconds until a token is available (>= 1). */
export type BucketDecision =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly retryAfterSeconds: number };

/**
 * In-memory token buckets keyed by a string (tenant/toolset/...). `perMinute` tokens refill continuously;
 * `burst` is the bucket size. Buckets idle long enough to be full again are dropped, so memory follows the
 * number of active keys, not the number ever seen.
 */
export function createTokenBuckets(clock: Clock) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  let lastSweep = clock.monotonic();

  return function take(key: string, perMinute: number, burst: number): BucketDecision {
    const now = clock.monotonic();
    const ratePerMs = perMinute / 60_000;
    if (now - lastSweep > 60_000) {
      for (const [k, b] of buckets) if (b.tokens + (now - b.at) * ratePerMs >= burst) buckets.delete(k);
      lastSweep = now;
    }
    const bucket = buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * ratePerMs);
    bucket.at = now;
    buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { admitted: true };
    }
    return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000)) };
  };
}
