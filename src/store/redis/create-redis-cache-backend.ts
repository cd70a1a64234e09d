import type { Redis } from 'ioredis';
import { GatehouseError } from '../../core/index.ts';
import type { CacheBackend, CacheLookup } from '../shared-state-port.ts';

/** Reads the group's generation and the entry under it in one round trip. KEYS[1] generation key. */
const lookupScript = `
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
`;

interface LookupCommand {
  gatehouseCacheLookup(numberOfKeys: number, ...args: string[]): Promise<[string, string | null]>;
}

/** Generation keys outlive the longest entry TTL (1 day), so a reset generation can never expose an old entry. */
const generationTtlMs = 2 * 24 * 60 * 60 * 1000;

/**
 * The result cache shared by every gateway process on one Redis. Entries are `gh:c:{<group>}:<generation>:<key>`
 * with a TTL; `invalidate` increments `gh:cg:{<group>}`, so one write invalidates the group's reads on every
 * process at once (CA-03). Group and key are ids and hashes, never secrets. Lookup failures are misses (the call
 * goes upstream); invalidation failures throw `store_unavailable`, since a stale read is worse than a failed call.
 */
export function createRedisCacheBackend(redis: Redis, options: { readonly prefix?: string } = {}): CacheBackend {
  const prefix = options.prefix ?? 'gh:';
  redis.defineCommand('gatehouseCacheLookup', { lua: lookupScript });
  const command = redis as unknown as LookupCommand;
  const generationKey = (group: string) => `${prefix}cg:{${group}}`;
  const entryPrefix = (group: string) => `${prefix}c:{${group}}:`;

  return {
    async lookup(group, key): Promise<CacheLookup> {
      try {
        const [generation, value] = await command.gatehouseCacheLookup(
          1,
          generationKey(group),
          entryPrefix(group),
          key,
        );
        return { generation: Number(generation), value: value ?? undefined };
      } catch {
        // -1: a `put` under this generation is dropped, so nothing is cached against an unknown generation.
        return { generation: -1, value: undefined };
      }
    },
    async put(group, generation, key, value, ttlMs) {
      if (generation < 0) return;
      try {
        await redis.set(`${entryPrefix(group)}${generation}:${key}`, value, 'PX', Math.max(1, Math.round(ttlMs)));
      } catch {
        // Not caching is always safe.
      }
    },
    async invalidate(group) {
      try {
        await redis.multi().incr(generationKey(group)).pexpire(generationKey(group), generationTtlMs).exec();
      } catch {
        throw new GatehouseError('store_unavailable', 'Result cache invalidation failed (Redis)', { backend: 'redis' });
      }
    },
    close: async () => {},
  };
}
