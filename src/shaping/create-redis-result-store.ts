import type { Clock } from '../core/index.ts';
import type { ResultStore, StoredResult } from './result-store.ts';

/** The slice of a Redis client (ioredis) this backend uses, so shaping never imports a driver. */
export interface RedisCommands {
  set(key: string, value: string, mode: 'PX', milliseconds: number): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

const prefix = 'gatehouse:result:';

/**
 * Result handles in Redis, shared by every gateway process. Each entry expires in Redis itself (`PX`), and
 * its expiry time is checked again on read against the injected clock.
 */
export function createRedisResultStore(redis: RedisCommands, clock: Clock): ResultStore {
  return {
    async put(key, result) {
      const ttl = Math.max(1, Math.ceil(result.expiresAt - clock.now()));
      await redis.set(prefix + key, JSON.stringify(result), 'PX', ttl);
    },
    async get(key) {
      const raw = await redis.get(prefix + key);
      if (raw === null) return undefined;
      const result = JSON.parse(raw) as StoredResult;
      return result.expiresAt > clock.now() ? result : undefined;
    },
  };
}
