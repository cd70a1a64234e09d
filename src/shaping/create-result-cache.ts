import { createHash } from 'node:crypto';
import type { CacheBackend } from '../store/index.ts';
import type { ToolResult } from './to-tool-result.ts';

/** Everything a cached answer depends on besides the arguments. Ids and names only, never a secret. */
export interface CacheScope {
  readonly tenant: string;
  readonly service: string;
  /**
   * Identity of the upstream credential: the connection id of an OAuth connection, or the service credential's
   * owner for a static key. Reads are invalidated per (tenant, service, connection).
   */
  readonly connection: string;
  readonly subject: string;
  /** Scopes granted to the connection (order does not matter). */
  readonly scopes: readonly string[];
  readonly tool: string;
}

/** Where one call's answer lives in the cache: an invalidation group and a hashed key. */
export interface CacheSlot {
  readonly group: string;
  readonly key: string;
}

/**
 * A cached answer: the scrubbed result and the upstream headers later steps read (`link`, for paging), scrubbed
 * like the result (`toToolPage`): a cache hit builds its `_nextPage` hint from these (RS-01).
 */
export interface CachedAnswer {
  readonly result: ToolResult;
  readonly headers: Readonly<Record<string, string>>;
}

export interface CacheHit {
  readonly answer: CachedAnswer | undefined;
  /** Generation seen by the lookup; pass it to `store` so a write in between makes the stored answer invisible. */
  readonly generation: number;
}

export interface ResultCache {
  slotOf(scope: CacheScope, args: Readonly<Record<string, unknown>>): CacheSlot;
  lookup(slot: CacheSlot): Promise<CacheHit>;
  /**
   * Stores a read's result for `ttlSeconds`, shortened or refused by the upstream's `Cache-Control`
   * (`cacheTtlMs`). Of the upstream headers only `link` is kept: pass the scrubbed headers of `toToolPage`. Never
   * throws (not caching is always safe).
   */
  store(
    slot: CacheSlot,
    generation: number,
    result: ToolResult,
    headers: Readonly<Record<string, string>>,
    ttlSeconds: number,
  ): Promise<void>;
  /** Makes every cached read of (tenant, service, connection) unreachable, on every process sharing the backend. */
  invalidate(scope: Pick<CacheScope, 'tenant' | 'service' | 'connection'>): Promise<void>;
}

/**
 * The cache of safe reads (DESIGN.md §8). Key = SHA-256 over tenant, service, connection, subject, sorted scopes,
 * tool and the arguments with object keys sorted at every depth, so equal calls share an entry and any
 * difference in who asks or with which grant does not (CA-01). The group (invalidation unit) is the tenant id
 * plus a hash of service and connection. Values are the shaped, scrubbed ToolResult as JSON: nothing in the cache
 * or its keys is a credential. Only the gateway decides that a call is cacheable (safe tool, GET/HEAD, toolset
 * `cache` set); this module decides what the upstream allows.
 */
export function createResultCache(backend: CacheBackend): ResultCache {
  // Part of every key: entries of an older format (format 1 kept the upstream's raw `link` header) are never read.
  const entryFormat = 2;
  const groupOf = (scope: Pick<CacheScope, 'tenant' | 'service' | 'connection'>) =>
    `${scope.tenant}:${hash(JSON.stringify([scope.service, scope.connection])).slice(0, 32)}`;

  return {
    slotOf(scope, args) {
      const material = JSON.stringify([
        entryFormat,
        scope.tenant,
        scope.service,
        scope.connection,
        scope.subject,
        [...scope.scopes].sort(),
        scope.tool,
        stableJson(args),
      ]);
      return { group: groupOf(scope), key: hash(material) };
    },

    async lookup(slot) {
      const found = await backend.lookup(slot.group, slot.key);
      if (found.value === undefined) return { answer: undefined, generation: found.generation };
      try {
        return { answer: JSON.parse(found.value) as CachedAnswer, generation: found.generation };
      } catch {
        return { answer: undefined, generation: found.generation };
      }
    },

    async store(slot, generation, result, headers, ttlSeconds) {
      const ttlMs = cacheTtlMs(headers, ttlSeconds);
      if (ttlMs <= 0) return;
      try {
        const link = headers['link'];
        const kept: Record<string, string> = link === undefined ? {} : { link };
        const answer: CachedAnswer = { result, headers: kept };
        await backend.put(slot.group, generation, slot.key, JSON.stringify(answer), ttlMs);
      } catch {
        // A failed put only costs a later miss.
      }
    },

    invalidate: (scope) => backend.invalidate(groupOf(scope)),
  };
}

/**
 * How long a shared cache may keep an answer (CA-02), in ms: 0 for `no-store`, `private`, `no-cache`,
 * `Pragma: no-cache` or `Vary: *`; otherwise `ttlSeconds` shortened by `s-maxage` (or else `max-age`).
 */
export function cacheTtlMs(headers: Readonly<Record<string, string>>, ttlSeconds: number): number {
  let ttl = ttlSeconds;
  const directives = (headers['cache-control'] ?? '').toLowerCase();
  if (/(?:^|[\s,])(?:no-store|private|no-cache)(?:$|[\s,=])/.test(directives)) return 0;
  if (/(?:^|[\s,])no-cache(?:$|[\s,])/.test((headers['pragma'] ?? '').toLowerCase())) return 0;
  if ((headers['vary'] ?? '').split(',').some((v) => v.trim() === '*')) return 0;
  const shared = /(?:^|[\s,])s-maxage\s*=\s*"?(\d+)/.exec(directives);
  const own = /(?:^|[\s,])max-age\s*=\s*"?(\d+)/.exec(directives);
  const limit = shared?.[1] ?? own?.[1];
  if (limit !== undefined) ttl = Math.min(ttl, Number(limit));
  return ttl * 1000;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** JSON with object keys sorted at every depth; arrays keep their order. */
function stableJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stableJson);
  if (value !== null && typeof value === 'object') {
    // No prototype: an argument named `__proto__` stays an own key instead of vanishing into the prototype.
    const out: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value).sort()) out[key] = stableJson((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
