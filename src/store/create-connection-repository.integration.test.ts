import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { createTestSchemaName, openStore } from './index.ts';
import type { ConnectionRecord, Store } from './port.ts';

/** The connections repository on every backend: SQLite always, PostgreSQL when GATEHOUSE_TEST_POSTGRES is set. */
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const tempDir = mkdtempSync(join(tmpdir(), 'gh-connections-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

if (postgresUrl === undefined) {
  console.log('connections suite: GATEHOUSE_TEST_POSTGRES is not set; the PostgreSQL block is skipped');
}

const backends = [
  { name: 'sqlite file', enabled: true, open: () => openStore(`sqlite:${join(tempDir, 'c.db')}`) },
  { name: 'sqlite memory', enabled: true, open: () => openStore('sqlite::memory:') },
  {
    name: 'postgres',
    enabled: postgresUrl !== undefined,
    open: () => openStore(postgresUrl ?? '', { schema: createTestSchemaName(), dropSchemaOnClose: true }),
  },
];

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | null) => (value === null ? null : new TextDecoder().decode(value));
/** A failed refresh as the refresh engine records it. */
const failure = (at: number) => ({ code: 'server_error', message: 'The token endpoint answered HTTP 500', at });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return error instanceof GatehouseError ? error.code : error === undefined ? undefined : 'other';
}

for (const backend of backends) {
  describe.skipIf(!backend.enabled)(`connections on ${backend.name}`, () => {
    let store: Store;
    let n = 0;
    beforeAll(async () => {
      store = await backend.open();
      await store.migrate();
    });
    afterAll(() => store?.close());

    async function connect(tenantId = `t${++n}`, service = 'github', subject = 'alice'): Promise<ConnectionRecord> {
      return store.connections.upsert({
        tenantId,
        id: `c${++n}`,
        service,
        subject,
        status: 'active',
        scopes: ['repo', 'read:user'],
        accessToken: bytes('at-1'),
        refreshToken: bytes('rt-1'),
        accessExpiresAt: 1_700_000_060_000,
        createdAt: 1_700_000_000_000,
      });
    }

    const update = (record: ConnectionRecord, access: string, refresh?: string | null) => ({
      tenantId: record.tenantId,
      id: record.id,
      expectedVersion: record.tokenVersion,
      accessToken: bytes(access),
      ...(refresh === undefined ? {} : { refreshToken: refresh === null ? null : bytes(refresh) }),
      accessExpiresAt: 1_700_000_120_000,
      scopes: ['repo'],
      at: 1_700_000_001_000,
    });

    it('upsert creates version 1 and a reconnect of the same account keeps the id and bumps the version', async () => {
      const first = await connect('u1');
      expect(first).toMatchObject({ tenantId: 'u1', service: 'github', subject: 'alice', tokenVersion: 1 });
      expect(text(first.accessToken)).toBe('at-1');
      expect(first.scopes).toEqual(['repo', 'read:user']);
      await store.connections.recordRefreshFailure('u1', first.id, 1_700_000_100_000, failure(1_700_000_000_500));
      const again = await store.connections.upsert({
        tenantId: 'u1',
        id: 'another-id',
        service: 'github',
        subject: 'alice',
        status: 'active',
        scopes: [],
        accessToken: bytes('at-2'),
        refreshToken: null,
        accessExpiresAt: null,
        createdAt: 1_700_000_002_000,
      });
      expect(again).toMatchObject({
        id: first.id,
        tokenVersion: 2,
        refreshFailures: 0,
        refreshCooldownUntil: null,
        lastError: null,
      });
      expect(again.refreshToken).toBeNull();
      expect(await store.connections.get('u1', 'another-id')).toBeUndefined();
    });

    it('get, find and list stay within the tenant', async () => {
      const a = await connect('v1', 'github', 'alice');
      await connect('v1', 'slack', 'alice');
      await connect('v2', 'github', 'alice');
      expect((await store.connections.list('v1')).map((c) => c.service)).toEqual(['github', 'slack']);
      expect((await store.connections.find('v1', 'github', 'alice'))?.id).toBe(a.id);
      expect(await store.connections.get('v2', a.id)).toBeUndefined();
      expect(await store.connections.delete('v2', a.id)).toBe(false);
      expect(await store.connections.delete('v1', a.id)).toBe(true);
      expect(await store.connections.get('v1', a.id)).toBeUndefined();
    });

    it('RF-03 commitTokens is version-checked: of two writers that read the same version exactly one wins', async () => {
      const record = await connect();
      const results = await Promise.all([
        store.connections.commitTokens(update(record, 'at-a', 'rt-a')),
        store.connections.commitTokens(update(record, 'at-b', 'rt-b')),
      ]);
      const won = results.filter((r) => r !== undefined);
      expect(won).toHaveLength(1);
      const stored = await store.connections.get(record.tenantId, record.id);
      expect(stored?.tokenVersion).toBe(2);
      expect(text(stored?.accessToken ?? null)).toBe(text(won[0]?.accessToken ?? null));
      // The loser's version is stale now: a later write with it is refused too.
      expect(await store.connections.commitTokens(update(record, 'at-c'))).toBeUndefined();
    });

    it('OA-14 commitTokens keeps the stored refresh token when the update has none', async () => {
      const record = await connect();
      const next = await store.connections.commitTokens(update(record, 'at-2'));
      expect(text(next?.refreshToken ?? null)).toBe('rt-1');
      expect(text(next?.accessToken ?? null)).toBe('at-2');
      const rotated = await store.connections.commitTokens(update(next as ConnectionRecord, 'at-3', 'rt-3'));
      expect(text(rotated?.refreshToken ?? null)).toBe('rt-3');
    });

    it('commitTokens refuses a connection that left active; setStatus and failures are fenced by version', async () => {
      const record = await connect();
      expect(await store.connections.setStatus(record.tenantId, record.id, 'needs_reauth', 2, 99)).toBe(false);
      await store.connections.recordRefreshFailure(record.tenantId, record.id, 5_000, failure(2), 99);
      expect((await store.connections.get(record.tenantId, record.id))?.refreshFailures).toBe(0);
      await store.connections.recordRefreshFailure(record.tenantId, record.id, 5_000, failure(2), record.tokenVersion);
      await store.connections.recordRefreshFailure(record.tenantId, record.id, 9_000, failure(3));
      expect(await store.connections.get(record.tenantId, record.id)).toMatchObject({
        refreshFailures: 2,
        refreshCooldownUntil: 9_000,
        lastError: failure(3),
      });
      const refused = { code: 'invalid_grant', message: 'refused', at: 4 };
      expect(await store.connections.setStatus(record.tenantId, record.id, 'needs_reauth', 4, 1, refused)).toBe(true);
      expect((await store.connections.get(record.tenantId, record.id))?.lastError).toEqual(refused);
      expect(await store.connections.commitTokens(update(record, 'at-x'))).toBeUndefined();
    });

    it('a good refresh clears the last refresh error', async () => {
      const record = await connect();
      await store.connections.recordRefreshFailure(record.tenantId, record.id, 5_000, failure(2));
      const next = await store.connections.commitTokens(update(record, 'at-2'));
      expect(next).toMatchObject({ refreshFailures: 0, lastError: null });
    });

    it('withRefreshLock: holders of one connection never overlap and each re-reads the row under the lock', async () => {
      const record = await connect();
      let inside = 0;
      let maxInside = 0;
      const versions: number[] = [];
      const hold = (owner: string) =>
        store.connections.withRefreshLock(
          record.tenantId,
          record.id,
          { owner, leaseMs: 5_000, waitMs: 5_000, now: Date.now },
          async (locked) => {
            inside++;
            maxInside = Math.max(maxInside, inside);
            const current = locked.record as ConnectionRecord;
            versions.push(current.tokenVersion);
            await sleep(20);
            await locked.connections.commitTokens(update(current, `at-${owner}`));
            inside--;
          },
        );
      await Promise.all([hold('a'), hold('b'), hold('c')]);
      expect(maxInside).toBe(1);
      expect(versions.sort()).toEqual([1, 2, 3]);
    });

    it('withRefreshLock gives credential_unavailable (refresh_busy) when a sibling holds it past waitMs', async () => {
      const record = await connect();
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const first = store.connections.withRefreshLock(
        record.tenantId,
        record.id,
        { owner: 'a', leaseMs: 10_000, waitMs: 1_000, now: Date.now },
        () => held,
      );
      await sleep(50);
      const second = store.connections.withRefreshLock(
        record.tenantId,
        record.id,
        { owner: 'b', leaseMs: 10_000, waitMs: 150, now: Date.now },
        async () => 'ran',
      );
      const error = await second.then(
        () => undefined,
        (e: unknown) => e as GatehouseError,
      );
      expect(error?.code).toBe('credential_unavailable');
      expect(error?.details.reason).toBe('refresh_busy');
      release();
      await first;
    });

    it('RF-03 a holder that outlives its lease neither overwrites the newer tokens nor ends the newer holding', async () => {
      const record = await connect();
      const leaseMs = 200;
      let staleCommit: ConnectionRecord | undefined | 'failed' = 'failed';
      let resumeStale!: () => void;
      const staleMayResume = new Promise<void>((resolve) => {
        resumeStale = resolve;
      });
      const stale = store.connections
        .withRefreshLock(
          record.tenantId,
          record.id,
          { owner: 'stale', leaseMs, waitMs: 1_000, now: Date.now },
          async (locked) => {
            await staleMayResume;
            staleCommit = await locked.connections.commitTokens(update(locked.record as ConnectionRecord, 'at-stale'));
          },
        )
        .catch(() => undefined);
      await sleep(leaseMs + 150);
      let newerInside = false;
      let thirdEntered = false;
      const newer = store.connections.withRefreshLock(
        record.tenantId,
        record.id,
        { owner: 'newer', leaseMs: 10_000, waitMs: 3_000, now: Date.now },
        async (locked) => {
          newerInside = true;
          await locked.connections.commitTokens(update(locked.record as ConnectionRecord, 'at-newer'));
          // The stale holder wakes up now: it tries to commit and releases its lock.
          resumeStale();
          await stale;
          const third = store.connections.withRefreshLock(
            record.tenantId,
            record.id,
            { owner: 'third', leaseMs: 10_000, waitMs: 100, now: Date.now },
            async () => {
              thirdEntered = true;
            },
          );
          expect(await codeOf(third)).toBe('credential_unavailable');
          newerInside = false;
        },
      );
      await newer;
      expect(thirdEntered).toBe(false);
      expect(newerInside).toBe(false);
      expect(staleCommit === 'failed' || staleCommit === undefined).toBe(true);
      const stored = await store.connections.get(record.tenantId, record.id);
      expect(text(stored?.accessToken ?? null)).toBe('at-newer');
      expect(stored?.tokenVersion).toBe(2);
    });
  });
}
