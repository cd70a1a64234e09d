import { type Clock, GatehouseError } from '../core/index.ts';
import type { ConnectionRepository } from '../store/index.ts';
import { createLockOwner, isLockOwnerGone, type RefreshLock } from './refresh-lock.ts';

/** The slice of a Redis client the lease needs (ioredis fits), so this module never imports a driver. */
export interface RedisLeaseClient {
  set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<'OK' | null>;
  get(key: string): Promise<string | null>;
  eval(script: string, numberOfKeys: number, ...args: string[]): Promise<unknown>;
}

export interface RedisRefreshLockOptions {
  readonly redis: RedisLeaseClient;
  readonly connections: ConnectionRepository;
  readonly clock: Clock;
  /** Default 15,000 ms. */
  readonly leaseMs?: number;
  /** Default 10,000 ms. */
  readonly waitMs?: number;
  /** Default `gatehouse:refresh:`. */
  readonly keyPrefix?: string;
}

/** Deletes the key only while it still holds our owner id: a late holder cannot release a newer holder's lease. */
const releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

const pollMs = 10;

/**
 * A Redis lease per connection: `SET key owner NX PX lease`, polled while a sibling holds it, released by a
 * compare-and-delete script. The lease alone is not safe (a paused holder may outlive it); writes still go through
 * the version-checked `commitTokens`, which is. A holder known for certain to have exited (a process of this host
 * killed while it held the lease, see `isLockOwnerGone`) has its lease ended at once rather than waited out.
 */
export function createRedisRefreshLock(options: RedisRefreshLockOptions): RefreshLock {
  const { redis, connections, clock } = options;
  const leaseMs = options.leaseMs ?? 15_000;
  const waitMs = options.waitMs ?? 10_000;
  const prefix = options.keyPrefix ?? 'gatehouse:refresh:';
  return {
    leaseMs,
    async withLock(tenantId, connectionId, fn) {
      const key = `${prefix}${JSON.stringify([tenantId, connectionId])}`;
      const owner = createLockOwner();
      const deadline = clock.monotonic() + waitMs;
      for (;;) {
        let answer: 'OK' | null;
        let holder: string | null = null;
        try {
          answer = await redis.set(key, owner, 'PX', leaseMs, 'NX');
          if (answer !== 'OK') holder = await redis.get(key);
        } catch (error) {
          throw new GatehouseError(
            'credential_unavailable',
            `Cannot take the refresh lock of connection ${connectionId}: Redis is unavailable`,
            { reason: 'lock_unavailable', connection: connectionId },
            { cause: error },
          );
        }
        if (answer === 'OK') break;
        if (holder !== null && isLockOwnerGone(holder)) {
          // Compare-and-delete: only that dead holder's lease goes, never one a sibling took meanwhile.
          await redis.eval(releaseScript, 1, key, holder).catch(() => undefined);
          continue;
        }
        if (clock.monotonic() >= deadline) {
          throw new GatehouseError(
            'credential_unavailable',
            `Connection ${connectionId} of tenant ${tenantId} is being refreshed by another process; try again shortly`,
            { reason: 'refresh_busy', connection: connectionId },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
      try {
        return await fn({ record: await connections.get(tenantId, connectionId), connections });
      } finally {
        await redis.eval(releaseScript, 1, key, owner).catch(() => undefined);
      }
    },
  };
}
