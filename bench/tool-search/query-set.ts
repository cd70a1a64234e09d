import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ApiId, apiIds } from './specs.ts';

/** One labelled task request: what a person asks, the tool that serves it, and other tools that serve it too. */
export interface LabelledQuery {
  readonly api: ApiId;
  readonly query: string;
  readonly expected: string;
  readonly alternatives: readonly string[];
}

export type SplitName = 'tune' | 'holdout';

export const splitFiles: Record<SplitName, string> = {
  tune: resolve(import.meta.dirname, 'queries.tune.json'),
  holdout: resolve(import.meta.dirname, 'queries.holdout.json'),
};

/**
 * The split rule, fixed before any search was run on these queries: the first 32 bits of the SHA-256 of the
 * query text (UTF-8, exactly as written) as a fraction of 2^32; below 0.4 is `tune`, the rest `holdout`.
 */
export function splitOf(query: string): SplitName {
  const fraction = createHash('sha256').update(query, 'utf8').digest().readUInt32BE(0) / 2 ** 32;
  return fraction < 0.4 ? 'tune' : 'holdout';
}

/** The queries of one split file, checked for shape; throws naming the file and the entry. */
export function readQuerySet(file: string): LabelledQuery[] {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { queries?: unknown };
  if (!Array.isArray(parsed.queries)) throw new Error(`${file}: expected { "queries": [...] }`);
  return parsed.queries.map((entry: unknown, i: number) => {
    const q = entry as Partial<LabelledQuery>;
    const at = `${file} queries[${i}]`;
    if (typeof q.query !== 'string' || q.query.trim() === '')
      throw new Error(`${at}: query must be a non-empty string`);
    if (typeof q.api !== 'string' || !(apiIds as string[]).includes(q.api))
      throw new Error(`${at} ("${q.query}"): api must be one of ${apiIds.join(', ')}`);
    if (typeof q.expected !== 'string') throw new Error(`${at} ("${q.query}"): expected must be a tool name`);
    if (!Array.isArray(q.alternatives) || !q.alternatives.every((a) => typeof a === 'string'))
      throw new Error(`${at} ("${q.query}"): alternatives must be an array of tool names`);
    return { api: q.api, query: q.query, expected: q.expected, alternatives: q.alternatives };
  });
}
