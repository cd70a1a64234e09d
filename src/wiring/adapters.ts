import type { AuditLog } from '../audit/index.ts';
import type { RefreshLock } from '../oauth/index.ts';
import type { ResultStore } from '../shaping/index.ts';
import type { CacheBackend, Limiter, ProcessBus, Store } from '../store/index.ts';
import type { UpstreamClient } from '../upstream/index.ts';
import type { Vault } from '../vault/index.ts';

/** The concrete adapters for one config, opened (and migrated) by main.ts. */
export interface Adapters {
  readonly store: Store;
  readonly vault: Vault;
  readonly upstream: UpstreamClient;
  /** The store migrations opening it ran, in order (`gatehouse migrate` reports them); empty when up to date. */
  readonly appliedMigrations?: readonly string[];
  /** The audit log, wired to the vault's security events. */
  readonly audit?: AuditLog;
  /** Rate and concurrency limiter shared by the gateway processes (Redis, when `redis` is set). */
  readonly limiter?: Limiter;
  /** Safe-read cache backend shared by the gateway processes (Redis, when `redis` is set). */
  readonly cacheBackend?: CacheBackend;
  /** Where over-budget tool results (handles) live (Redis, when `redis` is set; process memory otherwise). */
  readonly resultStore?: ResultStore;
  /** Cross-process OAuth refresh lock: the Redis lease when `redis` is set; the store's lock when absent. */
  readonly refreshLock?: RefreshLock;
  /** Requests between the gateway processes (Redis, when `redis` is set): relayed client answers reach their call. */
  readonly processBus?: ProcessBus;
  close(): Promise<void>;
}
