import type { Clock } from '../core/index.ts';
import type { ConnectionRepository, LockedConnection } from '../store/index.ts';

/**
 * The cross-process lock around one refresh-token redemption (DESIGN.md §6). Whatever the mechanism, the SQL
 * fence (`commitTokens` checks `tokenVersion`) is what makes a late holder harmless; the lock only keeps
 * siblings from redeeming the same refresh token at the same time.
 */
export interface RefreshLock {
  /** How long a holder is protected; the engine keeps its token request shorter than this. */
  readonly leaseMs: number;
  /**
   * Runs `fn` holding the lock of one connection, with the row re-read under it and the repository to write
   * through. Throws `credential_unavailable` (`details.reason: 'refresh_busy'`) when a sibling holds it longer
   * than the wait, and `store_unavailable` when the store cannot be reached (`fn` is then not run).
   */
  withLock<T>(tenantId: string, connectionId: string, fn: (locked: LockedConnection) => Promise<T>): Promise<T>;
}

export interface StoreRefreshLockOptions {
  readonly clock: Clock;
  /** Default 15,000 ms. */
  readonly leaseMs?: number;
  /** How long to wait for a sibling's lock; default 10,000 ms. */
  readonly waitMs?: number;
}

let ownerCount = 0;

/** Owner ids unique per process and attempt: `<pid>.<random>.<n>`. */
export function createLockOwner(): string {
  return `${process.pid}.${Math.random().toString(36).slice(2, 10)}.${++ownerCount}`;
}

/**
 * The lock the store provides: on PostgreSQL a transaction holding the connection's row (`FOR UPDATE`) across
 * the redemption, its writes committed before the lock is let go, with the lease enforced by the server
 * (`idle_in_transaction_session_timeout`); on SQLite a lease on the row, released by compare-and-delete.
 */
export function createStoreRefreshLock(
  connections: ConnectionRepository,
  options: StoreRefreshLockOptions,
): RefreshLock {
  const leaseMs = options.leaseMs ?? 15_000;
  const waitMs = options.waitMs ?? 10_000;
  const now = () => options.clock.now();
  return {
    leaseMs,
    withLock: (tenantId, connectionId, fn) =>
      connections.withRefreshLock(tenantId, connectionId, { owner: createLockOwner(), leaseMs, waitMs, now }, fn),
  };
}
