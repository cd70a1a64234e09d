import { createHash } from 'node:crypto';

/**
 * The canonical JSON of validated tool arguments (object keys sorted at every level, no whitespace) and its
 * SHA-256 (hex). Two argument objects that differ only in key order hash the same; any other difference
 * changes the hash, so an approval releases exactly the call that was approved (SC-05).
 */
export function hashApprovalArguments(args: unknown): { readonly json: string; readonly hash: string } {
  const json = toCanonicalJson(args ?? {});
  return { json, hash: createHash('sha256').update(json).digest('hex') };
}

function toCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(toCanonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${toCanonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}
