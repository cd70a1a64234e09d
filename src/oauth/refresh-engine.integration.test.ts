import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeRefreshServer, startFakeRefreshServer } from '../../test/support/start-fake-refresh-server.ts';
import { systemClock } from '../core/index.ts';
import { createTestSchemaName, openStore, type Store, withStoreSchema } from '../store/index.ts';
import { createLocalMasterKeyProvider, createVault, parseMasterKeys, type Vault } from '../vault/index.ts';

/**
 * Several gateway processes (child processes running test/support/refresh-worker.ts) over one store: RF-02 and RF-10
 * on PostgreSQL (and Redis when GATEHOUSE_TEST_REDIS is set), FT-08 crash points on SQLite and PostgreSQL.
 */
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];
const worker = join(import.meta.dirname, '..', '..', 'test', 'support', 'refresh-worker.ts');
const tempDir = mkdtempSync(join(tmpdir(), 'gh-refresh-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));
if (postgresUrl === undefined) {
  console.log(
    'refresh multi-process suite: GATEHOUSE_TEST_POSTGRES is not set; RF-02/RF-10 and FT-08 on PostgreSQL are skipped',
  );
}

interface WorkerResult {
  readonly ok: number;
  readonly errors: Record<string, number>;
  readonly events: { kind: string }[];
}

const masterKey = randomBytes(32).toString('hex');

function runWorker(env: Record<string, string>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', worker],
      { env: { ...process.env, GH_MASTER_KEY: masterKey, ...env }, timeout: 50_000 },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stderr }));
        else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as WorkerResult);
      },
    );
  });
}

async function expectKilled(env: Record<string, string>): Promise<void> {
  const error = await runWorker(env).then(
    () => undefined,
    (e: unknown) => e as { signal?: string },
  );
  expect(error?.signal).toBe('SIGKILL');
}

interface Shared {
  store: Store;
  vault: Vault;
  url: string;
}

async function openShared(backend: 'sqlite' | 'postgres'): Promise<Shared> {
  let store: Store;
  let url: string;
  if (backend === 'sqlite') {
    url = `sqlite:${join(tempDir, `${randomBytes(4).toString('hex')}.db`)}`;
    store = await openStore(url);
  } else {
    const schema = createTestSchemaName();
    url = withStoreSchema(postgresUrl ?? '', schema);
    store = await openStore(postgresUrl ?? '', { schema, dropSchemaOnClose: true });
  }
  await store.migrate();
  const vault = createVault({
    dataKeys: store.dataKeys,
    masterKeys: createLocalMasterKeyProvider(() => parseMasterKeys(masterKey, 'test'), 'test'),
    clock: systemClock,
  });
  return { store, vault, url };
}

async function seedConnection(shared: Shared, as: FakeRefreshServer, tenant: string, id: string) {
  const seeded = as.seed();
  const scope = { tenantId: tenant, owner: `connection:${id}` };
  return shared.store.connections.upsert({
    tenantId: tenant,
    id,
    service: 'api',
    subject: id,
    status: 'active',
    scopes: [],
    accessToken: await shared.vault.encrypt({ ...scope, field: 'access_token' }, seeded.accessToken),
    refreshToken: await shared.vault.encrypt({ ...scope, field: 'refresh_token' }, seeded.refreshToken),
    accessExpiresAt: Date.now() - 1_000,
    createdAt: Date.now(),
  });
}

let as: FakeRefreshServer;
beforeEach(async () => {
  as = await startFakeRefreshServer();
});
afterEach(() => as.close());

const asEnv = () => ({ GH_TOKEN_URL: as.tokenUrl, GH_CLIENT_ID: as.clientId, GH_CLIENT_SECRET: as.clientSecret });

const lockKinds = [
  { name: 'PostgreSQL row lock', redis: undefined },
  ...(redisUrl === undefined ? [] : [{ name: 'Redis lease', redis: redisUrl }]),
];

for (const lockKind of lockKinds) {
  describe.skipIf(postgresUrl === undefined)(`3 gateway processes on one PostgreSQL schema (${lockKind.name})`, () => {
    it('RF-02 RF-10 1,000 randomised concurrent calls over expiring tokens: one redemption per expiry, zero reuses', async () => {
      const shared = await openShared('postgres');
      try {
        // Tokens live 2 s and are refreshed 0.5 s ahead: about three expiries per connection during the run.
        as.configure({ expiresIn: 2 });
        const ids = ['c1', 'c2', 'c3', 'c4'];
        for (const id of ids) await seedConnection(shared, as, 'multi', id);
        const env = {
          ...asEnv(),
          GH_STORE: shared.url,
          GH_TENANT: 'multi',
          GH_CONNECTIONS: ids.join(','),
          GH_CALLS: '340',
          GH_DURATION_MS: '5000',
          GH_MARGIN_MS: '500',
          ...(lockKind.redis === undefined ? {} : { GH_REDIS: lockKind.redis }),
        };
        const results = await Promise.all([runWorker(env), runWorker(env), runWorker(env)]);
        const ok = results.reduce((sum, r) => sum + r.ok, 0);
        expect(results.map((r) => r.errors)).toEqual([{}, {}, {}]);
        expect(ok).toBe(1_020);
        expect(as.reuses()).toBe(0);
        const redemptions = [...as.redemptions().values()].filter((n) => n > 0);
        // Every refresh token was redeemed at most once, and every token request was a successful redemption.
        expect(redemptions.every((n) => n === 1)).toBe(true);
        expect(as.tokenRequests()).toBe(redemptions.length);
        expect(redemptions.length).toBeGreaterThanOrEqual(ids.length * 2);
        for (const id of ids) {
          const record = await shared.store.connections.get('multi', id);
          expect(record?.status).toBe('active');
          // Version 1 from the seed, plus one per redemption of this connection.
          expect(record?.tokenVersion).toBeGreaterThanOrEqual(3);
        }
        const versions = await Promise.all(ids.map((id) => shared.store.connections.get('multi', id)));
        expect(versions.reduce((sum, r) => sum + (r?.tokenVersion ?? 0) - 1, 0)).toBe(as.tokenRequests());
      } finally {
        await shared.store.close();
      }
    }, 60_000);
  });
}

const crashBackends = [
  { backend: 'sqlite' as const, enabled: true },
  { backend: 'postgres' as const, enabled: postgresUrl !== undefined },
];

for (const { backend, enabled } of crashBackends) {
  describe.skipIf(!enabled)(`FT-08 a gateway process killed during a refresh (${backend})`, () => {
    const crash = async (phase: string) => {
      const shared = await openShared(backend);
      const before = await seedConnection(shared, as, 'crash', 'c1');
      const env = {
        ...asEnv(),
        GH_STORE: shared.url,
        GH_TENANT: 'crash',
        GH_CONNECTIONS: 'c1',
        GH_CALLS: '1',
        GH_LEASE_MS: '1000',
      };
      await expectKilled({ ...env, GH_CRASH_AT: phase });
      return { shared, before, env };
    };

    it('FT-08 killed before the request: on restart the refresh happens once, nothing is lost', async () => {
      const { shared, before, env } = await crash('before_request');
      try {
        expect(as.tokenRequests()).toBe(0);
        const restarted = await runWorker(env);
        expect(restarted).toMatchObject({ ok: 1, errors: {} });
        expect(as.tokenRequests()).toBe(1);
        expect(await shared.store.connections.get('crash', 'c1')).toMatchObject({
          status: 'active',
          tokenVersion: before.tokenVersion + 1,
        });
      } finally {
        await shared.store.close();
      }
    }, 60_000);

    it('FT-08 killed after the response, before the commit: the lost rotation surfaces as needs_reauth with an event, no loop', async () => {
      const { shared, env } = await crash('after_response');
      try {
        expect(as.tokenRequests()).toBe(1);
        const restarted = await runWorker(env);
        expect(restarted.errors).toEqual({ reauth_required: 1 });
        expect(restarted.events.map((e) => e.kind)).toContain('needs_reauth');
        expect(as.tokenRequests()).toBe(2);
        expect((await shared.store.connections.get('crash', 'c1'))?.status).toBe('needs_reauth');
        const again = await runWorker(env);
        expect(again.errors).toEqual({ reauth_required: 1 });
        expect(as.tokenRequests()).toBe(2);
      } finally {
        await shared.store.close();
      }
    }, 60_000);

    it('FT-08 killed after the commit: on restart the committed tokens are used, no second redemption', async () => {
      const { shared, before, env } = await crash('after_commit');
      try {
        expect(as.tokenRequests()).toBe(1);
        const restarted = await runWorker(env);
        expect(restarted).toMatchObject({ ok: 1, errors: {} });
        expect(as.tokenRequests()).toBe(1);
        expect(await shared.store.connections.get('crash', 'c1')).toMatchObject({
          status: 'active',
          tokenVersion: before.tokenVersion + 1,
        });
      } finally {
        await shared.store.close();
      }
    }, 60_000);
  });
}

// Issue 13: a refresh-lease holder killed with SIGKILL releases nothing. When the next process runs on the same host
// (same kernel boot, pid namespace and user) it can tell for certain that the holder is gone and need not wait out
// the lease; before, calls whose token expired meanwhile answered `credential_unavailable` for up to the whole lease.
// (The PostgreSQL row lock needs no such check: the server ends it with the killed process's connection.)
const leaseKinds = [
  { name: 'SQLite lease', redis: undefined },
  ...(redisUrl === undefined ? [] : [{ name: 'Redis lease', redis: redisUrl }]),
];
for (const leaseKind of leaseKinds) {
  describe(`a ${leaseKind.name} holder killed on this host (issue 13)`, () => {
    it('the next process on the same host takes the dead holder’s lease at once instead of waiting it out', async () => {
      const shared = await openShared('sqlite');
      try {
        // A tenant of this run alone: the Redis server is shared.
        const tenant = `dead-${randomBytes(4).toString('hex')}`;
        const before = await seedConnection(shared, as, tenant, 'c1');
        const env = {
          ...asEnv(),
          GH_STORE: shared.url,
          GH_TENANT: tenant,
          GH_CONNECTIONS: 'c1',
          GH_CALLS: '1',
          ...(leaseKind.redis === undefined ? {} : { GH_REDIS: leaseKind.redis }),
          // Far longer than the worker's 8 s wait: a sibling that has to wait the lease out gives up (refresh_busy).
          GH_LEASE_MS: '60000',
        };
        await expectKilled({ ...env, GH_CRASH_AT: 'before_request' });
        expect(as.tokenRequests()).toBe(0);
        const sibling = await runWorker(env);
        expect(sibling).toMatchObject({ ok: 1, errors: {} });
        expect(as.tokenRequests()).toBe(1);
        expect(await shared.store.connections.get(tenant, 'c1')).toMatchObject({
          status: 'active',
          tokenVersion: before.tokenVersion + 1,
        });
      } finally {
        await shared.store.close();
      }
    }, 60_000);
  });
}
