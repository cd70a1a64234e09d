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
  /** A stored document that does not parse here (an `${env:...}` unset in this process): the old runtime stays. */
  readonly onError: (tenantId: string, error: unknown) => void;
  /** The periodic revision check, the safety net under the store's notices (default 1,000 ms). */
  readonly intervalMs?: number;
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
 * runs right after it.
 */
export async function watchTenantConfigs(options: TenantConfigWatchOptions): Promise<TenantConfigWatch> {
  const seen = new Map(options.known ?? []);
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  async function checkOnce(): Promise<void> {
    const current = await options.store.tenantConfigs.list();
    const present = new Set<string>();
    for (const { tenantId, revision } of current) {
      present.add(tenantId);
      if (seen.get(tenantId) === revision) continue;
      const stored = await options.store.tenantConfigs.read(tenantId);
      if (stored === undefined) continue;
      try {
        await options.prepare?.(stored.document as TenantDocument);
        const config = options.parse(stored.document as TenantDocument);
        seen.set(tenantId, stored.revision);
        await options.onChange(config, stored.revision);
      } catch (error) {
        seen.set(tenantId, stored.revision);
        options.onError(tenantId, error);
      }
    }
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
