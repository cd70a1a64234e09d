/** Messages between `createQueryEvaluator` and `_query-worker.ts`. */

export interface QueryJob {
  readonly id: number;
  /** Cache key of the handle (a hash of owner and id, never the text). */
  readonly key: string;
  /** The stored JSON text; omitted when the worker is believed to hold the parsed value already. */
  readonly text?: string;
  readonly expression: string;
  /** Page mode: the expression must select an array, and only `[offset, offset + limit)` of it comes back. */
  readonly page?: { readonly offset: number; readonly limit: number };
  readonly maxOutputBytes: number;
  /** Total characters of stored texts the worker may keep parsed. */
  readonly cacheChars: number;
}

export type QueryReply =
  | { readonly id: 0; readonly kind: 'ready' }
  | { readonly id: number; readonly kind: 'value'; readonly json: string }
  | { readonly id: number; readonly kind: 'page'; readonly total: number; readonly json: string }
  | { readonly id: number; readonly kind: 'miss' }
  | { readonly id: number; readonly kind: 'not_array' }
  | { readonly id: number; readonly kind: 'output' }
  | { readonly id: number; readonly kind: 'invalid'; readonly message: string };

/** The niceness of query processes and all their threads: the lowest priority Linux has. */
export const workerNice = 19;
