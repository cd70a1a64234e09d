import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RevisionConflictError } from '../core/index.ts';
import { createTestSchemaName, type OpenStoreOptions, openStore } from './index.ts';
import type { Store } from './port.ts';

const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const tempDir = mkdtempSync(join(tmpdir(), 'gh-tenant-config-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

interface Database {
  readonly url: string;
  readonly options: OpenStoreOptions;
  readonly cleanup?: () => Promise<void>;
}

const backends: { name: string; enabled: boolean; fresh: () => Database }[] = [
  {
    name: 'sqlite',
    enabled: true,
    fresh: () => ({ url: `sqlite:${join(tempDir, `${Math.random()}.db`)}`, options: {} }),
  },
  {
    name: 'postgres',
    enabled: postgresUrl !== undefined,
    fresh: () => {
      const schema = createTestSchemaName();
      return {
        url: postgresUrl ?? '',
        options: { schema },
        cleanup: async () => (await openStore(postgresUrl ?? '', { schema, dropSchemaOnClose: true })).close(),
      };
    },
  },
];

const change = (expectedRevision: number | null, actor = 'alice') => ({
  expectedRevision,
  actor,
  summary: 'toolset support changed',
  at: 1_700_000_000_000,
});

async function conflictOf(promise: Promise<unknown>): Promise<RevisionConflictError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RevisionConflictError);
  return error as RevisionConflictError;
}

for (const backend of backends) {
  describe.skipIf(!backend.enabled)(`tenant configs on ${backend.name}`, () => {
    async function withTwoStores(run: (one: Store, two: Store) => Promise<void>): Promise<void> {
      const database = backend.fresh();
      const one = await openStore(database.url, database.options);
      await one.migrate();
      const two = await openStore(database.url, database.options);
      try {
        await run(one, two);
      } finally {
        await one.close();
        await two.close();
        await database.cleanup?.();
      }
    }

    it('creates at revision 1, bumps by one per write, refuses a stale or duplicate write and changes nothing', async () => {
      await withTwoStores(async (store) => {
        const document = { id: 'acme', toolsets: [{ id: 'support', tools: ['pets_*'] }] };
        expect(await store.tenantConfigs.write('acme', document, change(null))).toEqual({ revision: 1 });
        expect((await conflictOf(store.tenantConfigs.write('acme', document, change(null)))).details).toMatchObject({
          expectedRevision: null,
          currentRevision: 1,
        });
        const next = { ...document, toolsets: [{ id: 'support', tools: ['pets_list'] }] };
        expect(await store.tenantConfigs.write('acme', next, change(1))).toEqual({ revision: 2 });
        const stale = await conflictOf(store.tenantConfigs.write('acme', document, change(1, 'bob')));
        expect(stale.code).toBe('revision_conflict');
        expect(stale.details).toMatchObject({ expectedRevision: 1, currentRevision: 2 });
        const read = await store.tenantConfigs.read('acme');
        expect(read).toMatchObject({ tenantId: 'acme', revision: 2, document: next, updatedBy: 'alice' });
        expect(await store.tenantConfigs.list()).toEqual([{ tenantId: 'acme', revision: 2 }]);
        expect(await store.tenantConfigs.read('other')).toBeUndefined();
      });
    });

    // SQLite serialises writers with BEGIN IMMEDIATE across processes; two connections in one process would block
    // each other's synchronous busy wait, so this race is run where two stores in one process can race: PostgreSQL.
    it.skipIf(backend.name !== 'postgres')(
      'of two stores writing on the same revision at once, exactly one wins',
      async () => {
        await withTwoStores(async (one, two) => {
          await one.tenantConfigs.write('acme', { id: 'acme' }, change(null));
          const results = await Promise.allSettled([
            one.tenantConfigs.write('acme', { id: 'acme', rateLimit: { perMinute: 1 } }, change(1, 'one')),
            two.tenantConfigs.write('acme', { id: 'acme', rateLimit: { perMinute: 2 } }, change(1, 'two')),
          ]);
          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
          expect(lost.reason).toBeInstanceOf(RevisionConflictError);
          expect((await two.tenantConfigs.read('acme'))?.revision).toBe(2);
        });
      },
    );

    it('delete needs the current revision; history keeps every revision, and a new create continues the numbers', async () => {
      await withTwoStores(async (store) => {
        await store.tenantConfigs.write('acme', { id: 'acme' }, change(null));
        await conflictOf(store.tenantConfigs.delete('acme', change(5)));
        await store.tenantConfigs.delete('acme', change(1, 'carol'));
        expect(await store.tenantConfigs.read('acme')).toBeUndefined();
        expect(await store.tenantConfigs.write('acme', { id: 'acme' }, change(null))).toEqual({ revision: 3 });
        const history = await store.tenantConfigs.history('acme');
        expect(history.map((h) => [h.revision, h.actor, h.deleted])).toEqual([
          [3, 'alice', false],
          [2, 'carol', true],
          [1, 'alice', false],
        ]);
      });
    });

    it.skipIf(backend.name !== 'postgres')('announces a write to the subscribers of another process', async () => {
      await withTwoStores(async (one, two) => {
        const seen: string[] = [];
        const stop = await two.tenantConfigs.subscribe((tenant) => seen.push(tenant));
        await one.tenantConfigs.write('acme', { id: 'acme' }, change(null));
        const deadline = Date.now() + 10_000;
        while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(seen).toEqual(['acme']);
        await stop();
      });
    });
  });
}
