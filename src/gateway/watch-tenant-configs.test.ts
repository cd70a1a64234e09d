import { describe, expect, it } from 'vitest';
import type { TenantConfig, TenantDocument } from '../core/index.ts';
import { watchTenantConfigs } from './watch-tenant-configs.ts';

/** A store of tenant documents that never notifies (as SQLite): the watch sees changes at its checks. */
function fakeStore(documents: Map<string, { revision: number; document: TenantDocument }>) {
  return {
    tenantConfigs: {
      list: async () => [...documents].map(([tenantId, { revision }]) => ({ tenantId, revision })),
      read: async (tenantId: string) => {
        const stored = documents.get(tenantId);
        return stored === undefined ? undefined : { tenantId, ...stored };
      },
      subscribe: async () => async () => {},
    },
  } as never;
}

const parse = (document: TenantDocument) => ({ id: document.id }) as TenantConfig;

describe('watchTenantConfigs', () => {
  it('failed_apply_never_retried: a revision whose apply failed is applied at a later check', async () => {
    // A process that failed to apply a revision for a passing reason (a store conflict with another process
    // applying it at the same moment) served the previous revision until the next write: a fleet diverged.
    const documents = new Map([['globex', { revision: 1, document: { id: 'globex' } as TenantDocument }]]);
    const applied: number[] = [];
    const failures: unknown[] = [];
    let failNext = true;
    const watch = await watchTenantConfigs({
      store: fakeStore(documents),
      parse,
      intervalMs: 3_600_000,
      retryMs: { first: 0, max: 0 },
      onChange: (_config, revision) => {
        if (failNext) {
          failNext = false;
          throw new Error('duplicate key value violates unique constraint "client_keys_pk"');
        }
        applied.push(revision);
      },
      onRemove: () => {},
      onError: (_tenant, error) => failures.push(error),
    });
    try {
      await watch.check();
      expect(applied).toEqual([]);
      expect(failures).toHaveLength(1);
      await watch.check();
      expect(applied).toEqual([1]);
      await watch.check();
      expect(applied).toEqual([1]);
    } finally {
      await watch.stop();
    }
  });

  it('a revision that keeps failing is tried again after a growing delay, not at every check', async () => {
    const documents = new Map([['globex', { revision: 1, document: { id: 'globex' } as TenantDocument }]]);
    let attempts = 0;
    let now = 0;
    const watch = await watchTenantConfigs({
      store: fakeStore(documents),
      parse: (document) => {
        attempts++;
        throw new Error(`${document.id}: \${env:TOKEN} is not set`);
      },
      intervalMs: 3_600_000,
      retryMs: { first: 1_000, max: 4_000 },
      now: () => now,
      onChange: () => {},
      onRemove: () => {},
      onError: () => {},
    });
    try {
      const at = async (ms: number) => {
        now = ms;
        await watch.check();
        return attempts;
      };
      // Tried at 0; again 1 s later, then 2 s, then 4 s, and every 4 s from then on.
      expect([await at(0), await at(500), await at(1_000), await at(2_500), await at(3_000)]).toEqual([1, 1, 2, 2, 3]);
      expect([await at(6_999), await at(7_000), await at(11_000)]).toEqual([3, 4, 5]);
      // A new revision is tried at once, whatever the delay of the failed one.
      documents.set('globex', { revision: 2, document: { id: 'globex' } as TenantDocument });
      expect(await at(11_001)).toBe(6);
    } finally {
      await watch.stop();
    }
  });
});
