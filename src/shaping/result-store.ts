/**
 * Where result handles live: the port, and what one stored result is. The memory backend is the default;
 * a Redis backend shares handles between gateway processes (any replica can answer any request).
 */

/** A stored tool result: the exact text the model would have received, and whether that text is JSON. */
export interface StoredResult {
  /** `tenant`, `subject` and client key the handle is bound to, joined; compared again on every read. */
  readonly owner: string;
  readonly kind: 'json' | 'text';
  readonly text: string;
  /** Wall-clock milliseconds. */
  readonly expiresAt: number;
}

/** Whose storage a result counts against (MT-08): the per-tenant and per-subject caps. */
export interface ResultQuotaOwner {
  readonly tenant: string;
  readonly subject: string;
}

/** Caps of one tenant and of one subject of a tenant (bytes as `sizeOfStoredResult` counts them). */
export interface ResultQuotas {
  readonly maxBytesPerTenant: number;
  readonly maxBytesPerSubject: number;
}

export interface ResultStore {
  /**
   * Stores `result` under `key` until `result.expiresAt`, counted against `owner`'s caps. To make room it evicts
   * only older results of the same tenant: first the same subject's, then the tenant's others (MT-08); another
   * tenant's results are never evicted. Throws `payload_too_large` for a result over a cap by itself, and
   * `rate_limited` (with `retryAfterSeconds`) when the store is full of other tenants' results.
   */
  put(key: string, result: StoredResult, owner: ResultQuotaOwner): Promise<void>;
  /** The result under `key`, or undefined when there is none or it has expired. */
  get(key: string): Promise<StoredResult | undefined>;
}

/** Bytes a stored result counts for: its texts as UTF-16 plus a fixed overhead. */
export function sizeOfStoredResult(entry: StoredResult): number {
  return entry.text.length * 2 + entry.owner.length * 2 + 64;
}

/**
 * The caps of the `resultHandles` settings: by default a quarter of `maxBytes` per tenant and three quarters of
 * that per subject (with the default 128 MiB: 32 MiB and 24 MiB, room for the largest upstream answer, 10 MiB,
 * counted as 20 MiB).
 */
export function resultQuotasOf(settings: {
  readonly maxBytes: number;
  readonly maxBytesPerTenant?: number | undefined;
  readonly maxBytesPerSubject?: number | undefined;
}): ResultQuotas {
  const maxBytesPerTenant = settings.maxBytesPerTenant ?? Math.max(1, Math.floor(settings.maxBytes / 4));
  const maxBytesPerSubject = settings.maxBytesPerSubject ?? Math.max(1, Math.floor((maxBytesPerTenant * 3) / 4));
  return { maxBytesPerTenant, maxBytesPerSubject };
}
