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

export interface ResultStore {
  /** Stores `result` under `key` until `result.expiresAt`. May evict older entries to stay within its cap. */
  put(key: string, result: StoredResult): Promise<void>;
  /** The result under `key`, or undefined when there is none or it has expired. */
  get(key: string): Promise<StoredResult | undefined>;
}
