import type { TenantConfig, TenantDocument } from '../core/index.ts';
import type { Store } from '../store/index.ts';

export interface TenantConfigWatchOptions {
  readonly store: Pick<Store, 'tenantConfigs'>;
  readonly parse: (document: TenantDocument) => TenantConfig;
  /** Reads what a document needs before it is parsed (its stored descriptions); absent: nothing. */
  readonly prepare?: (document: TenantDocument) => Promise<void>;
  /** A stored tenant changed (or appeared): its new configuration, parsed (awaited before the next tenant). */
  readonly onChange: (config: TenantConfig, revision: number) => void | Promise<void>;
  /** A stored tenant was deleted. */
  readonly onRemove: (tenantId: string) => void;
  /**
   * A revision not applied here (a document that does not parse in this process, an `${env:...}` unset; or
   * `prepare`/`onChange` threw): the old runtime stays, and the revision is tried again in `retryInMs`. `*`: the
   * check itself failed (the store unreachable); the next check tries again.
   */
  readonly onError: (tenantId: string, error: unknown, retryInMs?: number) => void;
  /** The periodic revision check, the safety net under the store's notices (default 1,000 ms). */
  readonly intervalMs?: number;
  /**
   * When a revision that failed is tried again: `first` after the first failure, doubling up to `max` (default
   * 1 s and 60 s). A new revision is tried at once.
   */
  readonly retryMs?: { readonly first: number; readonly max: number };
  /** Milliseconds on a monotonic clock (default `performance.now`). */
  readonly now?: () => number;
  /** Revisions already in force (the tenants reconciled at start), so they are not rebuilt again. */
  readonly known?: ReadonlyMap<string, number>;
}

export interface TenantConfigWatch {
  /** One revision check now (tests and the notice handler use it). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps a process's tenants in step with the stored configurations (issue 14: every process within 2 s of a
 * write): a store notice (PostgreSQL `NOTIFY`) triggers a revision check at once, and a check runs every
 * `intervalMs` whatever happens (a missed notice, SQLite). A check reads only `tenant_id, revision`; a tenant whose
 * revision moved is read, parsed and handed to `onChange`. Checks never overlap; one requested during a check
 * runs right after it. A revision that failed to apply is tried again with a growing delay, not taken as seen:
 * every process applies each write at once, so one that lost a race on the store, or met it unreachable, would
 * otherwise serve the previous revision until the next write while the rest of the fleet served the new one.
 */
export async function watchTenantConfigs(options: TenantConfigWatchOptions): Promise<TenantConfigWatch> {
  const seen = new Map(options.known ?? []);
  const failed = new Map<string, { revision: number; attempts: number; retryAt: number }>();
  const { first, max } = options.retryMs ?? { first: 1_000, max: 60_000 };
  const now = options.now ?? (() => performance.now());
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  async function checkOnce(): Promise<void> {
    const current = await options.store.tenantConfigs.list();
    const present = new Set<string>();
    for (const { tenantId, revision } of current) {
      present.add(tenantId);
      if (seen.get(tenantId) === revision) continue;
      const failure = failed.get(tenantId);
      if (failure?.revision === revision && now() < failure.retryAt) continue;
      const stored = await options.store.tenantConfigs.read(tenantId);
      if (stored === undefined) continue;
      try {
        await options.prepare?.(stored.document as TenantDocument);
        const config = options.parse(stored.document as TenantDocument);
        await options.onChange(config, stored.revision);
        seen.set(tenantId, stored.revision);
        failed.delete(tenantId);
      } catch (error) {
        const attempts = failure?.revision === stored.revision ? failure.attempts + 1 : 1;
        const retryInMs = Math.min(first * 2 ** (attempts - 1), max);
        failed.set(tenantId, { revision: stored.revision, attempts, retryAt: now() + retryInMs });
        options.onError(tenantId, error, retryInMs);
      }
    }
    for (const tenantId of [...failed.keys()]) if (!present.has(tenantId)) failed.delete(tenantId);
    for (const tenantId of [...seen.keys()]) {
      if (present.has(tenantId)) continue;
      seen.delete(tenantId);
      options.onRemove(tenantId);
    }
  }

  function check(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await checkOnce().catch((error: unknown) => options.onError('*', error));
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  const unsubscribe = await options.store.tenantConfigs.subscribe(() => void check()).catch(() => async () => {});
  const timer = setInterval(() => void check(), options.intervalMs ?? 1_000);
  timer.unref();
  return {
    check,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await unsubscribe();
      await running;
    },
  };
}
