import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../../test/support/run-cli-in-process.ts';
import {
  type ScriptedAuthorizationServer,
  startScriptedAuthorizationServer,
} from '../../test/support/start-scripted-authorization-server.ts';
import { openTenantRows, type TenantTable } from '../../test/support/tenant-rows.ts';
import { type TestDatabase, testDatabases } from '../../test/support/test-databases.ts';
import { loadConfigFile } from '../core/index.ts';
import { openAdapters } from '../open-adapters.ts';
import { tenantPurgePlan } from '../store/index.ts';

let as: ScriptedAuthorizationServer;
let dir: string;
const masterKey = randomBytes(32).toString('base64');
const postgres = testDatabases(tmpdir()).find((kind) => kind.name === 'postgres');
/** The PostgreSQL database of the test running, when the PostgreSQL suite runs; SQLite in the temp folder else. */
let database: TestDatabase | undefined;

beforeEach(async () => {
  as = await startScriptedAuthorizationServer();
  dir = mkdtempSync(join(tmpdir(), 'gh-purge-'));
});
afterEach(async () => {
  await as.close();
  await database?.drop();
  database = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const tenant = (id: string) => ({
  id,
  services: [
    {
      id: 'crm',
      openapi: fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url)),
      baseUrl: 'https://crm.example.com',
      auth: {
        type: 'oauth2',
        authorizationUrl: `${as.url}/authorize`,
        tokenUrl: `${as.url}/token`,
        revocationUrl: `${as.url}/revoke`,
        clientId: `client-${id}`,
        clientSecret: `secret-${id}-0123456789`,
      },
    },
  ],
  toolsets: [],
});

function writeConfig(name: string, tenants: string[]): string {
  const file = join(dir, name);
  const raw = {
    dataDir: join(dir, 'data'),
    ...(database === undefined ? {} : { store: database.url }),
    masterKey,
    logLevel: 'silent',
    tenants: tenants.map(tenant),
  };
  writeFileSync(file, JSON.stringify(raw));
  return file;
}

/** The store the configs written by writeConfig use. */
const storeUrl = () => database?.url ?? `sqlite:${join(dir, 'data', 'gatehouse.db')}`;

async function cli(argv: string[]) {
  return runCliInProcess(argv, { openAdapters });
}

const quiet = { stderr: new Writable({ write: (_c, _e, done) => done() }) };

/** Seeds a connection, a secret, a client key and an audit record for each tenant; returns the ciphertexts. */
async function seed(configFile: string) {
  const adapters = await openAdapters(loadConfigFile(configFile, {}), quiet);
  try {
    const { store, vault } = adapters;
    const blobs = new Map<string, Uint8Array>();
    const now = Date.now();
    for (const id of ['acme', 'other']) {
      await store.tenants.ensure(id, now);
      const scope = { tenantId: id, owner: `connection:c-${id}` };
      const refreshToken = await vault.encrypt({ ...scope, field: 'refresh_token' }, `rt-${id}`);
      await store.connections.upsert({
        tenantId: id,
        id: `c-${id}`,
        service: 'crm',
        subject: 'alice',
        status: 'active',
        scopes: [],
        accessToken: await vault.encrypt({ ...scope, field: 'access_token' }, `at-${id}`),
        refreshToken,
        accessExpiresAt: now + 3_600_000,
        createdAt: now,
      });
      blobs.set(id, refreshToken);
      const secret = { tenantId: id, owner: 'service:crm', field: 'clientSecret' };
      await store.secrets.put({ ...secret, ciphertext: await vault.encrypt(secret, `s-${id}`), updatedAt: now });
      await store.clientKeys.upsert({
        tenantId: id,
        id: `k-${id}`,
        name: 'agent',
        hash: `hash-${id}`,
        prefix: 'gh_',
        toolsets: [],
        subject: 'alice',
        createdAt: now,
        revokedAt: null,
      });
      await adapters.audit?.recordSecurityEvent({
        tenant: id,
        event: 'connect',
        decision: 'allow',
        detail: 'connected',
      });
      await store.approvals.insert({
        tenantId: id,
        id: `a-${id}`,
        toolset: 'all',
        tool: 'crm_deleteItem',
        clientKeyId: `k-${id}`,
        clientKeyName: 'agent',
        subject: 'alice',
        argsHash: 'hash',
        argsJson: '{"itemId":"secret-argument"}',
        sealedLinkToken: await vault.encrypt({ tenantId: id, owner: `approval:a-${id}`, field: 'link' }, 'token'),
        status: 'pending',
        requestedAt: now,
        expiresAt: now + 60_000,
        decidedBy: null,
        decidedAt: null,
        consumedAt: null,
      });
      await store.usage.add([
        { tenantId: id, day: '2026-11-27', toolset: 'all', tool: 'crm_getItem', calls: 3, errors: 0, denials: 0 },
      ]);
      await store.users.insert({
        tenantId: id,
        id: `usr-${id}`,
        name: 'alice',
        displayName: 'Alice',
        status: 'active',
        passwordHash: 'scrypt$N=32768,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
        ssoSubject: null,
        inviteHash: null,
        inviteExpiresAt: null,
        createdAt: now,
        updatedAt: now,
      });
      await store.userSessions.insert({
        tenantId: id,
        idHash: `h-${id}`,
        userId: `usr-${id}`,
        createdAt: now,
        expiresAt: now + 60_000,
      });
    }
    return blobs;
  } finally {
    await adapters.close();
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error: { code?: string }) => error.code,
  );
}

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
] as const)('gatehouse tenant purge on %s', (_name, usePostgres) => {
  beforeEach(async (context) => {
    if (!usePostgres) return;
    if (!postgres?.enabled) return context.skip();
    database = await postgres.create();
  });

  it('ST-10 purging a removed tenant revokes its tokens upstream, shreds its data keys, keeps its audit log and leaves other tenants untouched', async () => {
    const before = writeConfig('before.yaml', ['acme', 'other']);
    const after = writeConfig('after.yaml', ['other']);
    const blobs = await seed(before);
    const auditBefore = await (async () => {
      const adapters = await openAdapters(loadConfigFile(after, {}), quiet);
      try {
        return (await adapters.store.audit.query({ tenantId: 'acme' })).map((r) => [r.seq, r.hash]);
      } finally {
        await adapters.close();
      }
    })();

    const run = await cli(['tenant', 'purge', '--config', after, '--tenant', 'acme', '--previous-config', before]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 revoked upstream');
    const revocations = as.received.filter((r) => r.path === '/revoke');
    expect(revocations.map((r) => r.form.get('token'))).toEqual(['rt-acme', 'at-acme']);
    expect(JSON.stringify(run)).not.toContain('rt-acme');

    const adapters = await openAdapters(loadConfigFile(after, {}), quiet);
    try {
      const { store, vault } = adapters;
      const acme = { tenantId: 'acme', owner: 'connection:c-acme', field: 'refresh_token' };
      expect(await codeOf(vault.decrypt(acme, blobs.get('acme') as Uint8Array))).toBe('decrypt_failed');
      expect(await store.connections.list('acme')).toEqual([]);
      expect(await store.secrets.listByOwner('acme', 'service:crm')).toEqual([]);
      expect(await store.clientKeys.list('acme')).toEqual([]);
      expect(await store.dataKeys.list('acme')).toEqual([]);
      expect(await store.approvals.list('acme')).toEqual([]);
      expect(await store.usage.query('acme', '2026-01-01', '2026-12-31')).toEqual([]);
      expect(await store.users.list('acme')).toEqual([]);
      expect(await store.userSessions.findActive('acme', 'h-acme', Date.now())).toBeUndefined();
      // Append-only: every record from before is still there unchanged (the decrypt_failed above may follow them).
      const auditAfter = (await store.audit.query({ tenantId: 'acme' })).map((r) => [r.seq, r.hash]);
      expect(auditBefore.length).toBeGreaterThan(0);
      expect(auditAfter.slice(0, auditBefore.length)).toEqual(auditBefore);
      // The other tenant is untouched.
      const other = { tenantId: 'other', owner: 'connection:c-other', field: 'refresh_token' };
      expect(await vault.decrypt(other, blobs.get('other') as Uint8Array)).toBe('rt-other');
      expect(await store.connections.list('other')).toHaveLength(1);
      expect(await store.secrets.listByOwner('other', 'service:crm')).toHaveLength(1);
      expect(await store.clientKeys.list('other')).toHaveLength(1);
      expect(await store.approvals.list('other')).toHaveLength(1);
      expect(await store.usage.query('other', '2026-01-01', '2026-12-31')).toHaveLength(1);
      expect(await store.users.list('other')).toHaveLength(1);
      expect(await store.userSessions.findActive('other', 'h-other', Date.now())).toBeDefined();
    } finally {
      await adapters.close();
    }
    // The kept log still chains, but its signed checkpoints died with the data keys: not reported as intact.
    const purged = await cli(['audit', 'verify', '--config', before, '--tenant', 'acme', '--json']);
    expect([purged.code, JSON.parse(purged.stdout).problem]).toEqual([1, 'checkpoint_key_unavailable']);
    const kept = await cli(['audit', 'verify', '--config', before, '--tenant', 'other', '--json']);
    expect([kept.code, JSON.parse(kept.stdout).checkpointsAuthenticated]).toEqual([0, true]);
  });

  it('purge leaves no row of the tenant in any table with a tenant column of the live schema but its audit log, and every row of another tenant', async () => {
    const before = writeConfig('before.yaml', ['acme', 'other']);
    const after = writeConfig('after.yaml', ['other']);
    await seed(before);
    const rows = await openTenantRows(storeUrl());
    try {
      // The tables come from the catalogue, not from a list: a table a later migration adds is in here too. The
      // flows above fill some; every other one gets a row of each tenant written around the store.
      const tables = await rows.tenantTables();
      expect(tables.map((t) => t.table)).toEqual(expect.arrayContaining(['service_descriptions', 'alert_deliveries']));
      for (const table of tables) {
        for (const tenant of ['acme', 'other']) {
          if ((await rows.count(table, tenant)) === 0) await rows.insertSample(table, tenant);
        }
      }
      const countAll = async (tenant: string) => {
        const counts = new Map<string, number>();
        for (const table of tables) counts.set(table.table, await rows.count(table, tenant));
        return counts;
      };
      const acmeBefore = await countAll('acme');
      const otherBefore = await countAll('other');
      for (const { table } of tables) {
        expect(acmeBefore.get(table), `${table}: a row of acme before the purge`).toBeGreaterThan(0);
        expect(otherBefore.get(table), `${table}: a row of other before the purge`).toBeGreaterThan(0);
      }

      // --force: the rows written above include a stored configuration of acme, which alone is refused.
      const run = await cli([
        'tenant',
        'purge',
        '--config',
        after,
        '--tenant',
        'acme',
        '--previous-config',
        before,
        '--force',
      ]);
      expect(run.code).toBe(0);

      const acmeAfter = await countAll('acme');
      const otherAfter = await countAll('other');
      const kept = (table: string) => (tenantPurgePlan as Record<string, string>)[table] === 'keep';
      const left = tables
        .filter(({ table }) => !kept(table) && acmeAfter.get(table) !== 0)
        .map((t: TenantTable) => t.table);
      expect(left, 'tables still holding rows of the purged tenant').toEqual([]);
      for (const { table } of tables) {
        // The audit log is append-only and kept (the purge may add to it, never remove).
        if (kept(table)) expect(acmeAfter.get(table), table).toBeGreaterThanOrEqual(acmeBefore.get(table) ?? 0);
        expect(otherAfter.get(table), `${table}: rows of the other tenant`).toBe(otherBefore.get(table));
      }
      // Keeping a table is a decision for docs/operations.md ("Removing a tenant"), not a way to pass this test.
      expect(
        Object.entries(tenantPurgePlan)
          .filter(([, fate]) => fate === 'keep')
          .map(([table]) => table)
          .sort(),
      ).toEqual(['audit_checkpoints', 'audit_heads', 'audit_keys', 'audit_records', 'audit_sequences']);
    } finally {
      await rows.close();
    }
  });

  it('refuses a tenant whose configuration is still stored unless --force, and deletes nothing', async () => {
    const before = writeConfig('before.yaml', ['acme', 'other']);
    const after = writeConfig('after.yaml', ['other']);
    await seed(before);
    const adapters = await openAdapters(loadConfigFile(after, {}), quiet);
    try {
      await adapters.store.tenantConfigs.write(
        'acme',
        { id: 'acme' },
        { expectedRevision: null, actor: 'test', summary: 'stored', at: Date.now() },
      );
    } finally {
      await adapters.close();
    }
    const refused = await cli(['tenant', 'purge', '--config', after, '--tenant', 'acme', '--previous-config', before]);
    expect(refused.code).toBe(2);
    expect(as.received.filter((r) => r.path === '/revoke')).toHaveLength(0);
    const check = await openAdapters(loadConfigFile(after, {}), quiet);
    try {
      expect(await check.store.connections.list('acme')).toHaveLength(1);
      expect(await check.store.dataKeys.list('acme')).not.toEqual([]);
      expect((await check.store.tenantConfigs.read('acme'))?.revision).toBe(1);
    } finally {
      await check.close();
    }
  });

  it('refuses a tenant still in the config unless --force, and reports a revocation it could not do', async () => {
    const before = writeConfig('before.yaml', ['acme', 'other']);
    const blobs = await seed(before);
    const refused = await cli(['tenant', 'purge', '--config', before, '--tenant', 'acme']);
    expect(refused.code).toBe(2);
    expect(as.received.filter((r) => r.path === '/revoke')).toHaveLength(0);

    // Without any definition of the tenant's services, connections are deleted unrevoked, and that is reported.
    const after = writeConfig('after.yaml', ['other']);
    const run = await cli(['tenant', 'purge', '--config', after, '--tenant', 'acme']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('c-acme');
    expect(run.stderr).toContain('not revoked upstream');
    expect(as.received.filter((r) => r.path === '/revoke')).toHaveLength(0);
    const adapters = await openAdapters(loadConfigFile(after, {}), quiet);
    try {
      const acme = { tenantId: 'acme', owner: 'connection:c-acme', field: 'refresh_token' };
      expect(await codeOf(adapters.vault.decrypt(acme, blobs.get('acme') as Uint8Array))).toBe('decrypt_failed');
    } finally {
      await adapters.close();
    }
  });

  it('purged tenant id reused: a config naming a purged tenant is refused with its path and why, not a decrypt failure, and other tenants start', async () => {
    const before = writeConfig('before.yaml', ['acme', 'other']);
    const after = writeConfig('after.yaml', ['other']);
    await seed(before);
    const run = await cli(['tenant', 'purge', '--config', after, '--tenant', 'acme', '--previous-config', before]);
    expect(run.code).toBe(0);

    const again = writeConfig('again.yaml', ['other', 'acme']);
    const refused = await openAdapters(loadConfigFile(again, {}), quiet).then(
      async (adapters) => {
        await adapters.close();
        return undefined;
      },
      (error: { code?: string; message?: string; details?: unknown }) => error,
    );
    expect(refused?.code).toBe('config_invalid');
    expect(refused?.message).toContain('tenants[1].id');
    expect(refused?.message).toContain("'acme' was purged");
    // The tenant that was not purged starts as before.
    const adapters = await openAdapters(loadConfigFile(after, {}), quiet);
    await adapters.close();
  });

  it('store_only_tenant_cli: users, keys and purge act on a tenant created through the admin API (only in the store)', async () => {
    const file = writeConfig('file.yaml', ['other']);
    const now = Date.now();
    const adapters = await openAdapters(loadConfigFile(file, {}), quiet);
    try {
      const document = { ...tenant('globex'), toolsets: [{ id: 'all', tools: ['crm_*'] }] };
      await adapters.store.tenantConfigs.write('globex', document, {
        expectedRevision: null,
        actor: 'admin',
        summary: 'created',
        at: now,
      });
      await adapters.store.tenants.ensure('globex', now);
      const scope = { tenantId: 'globex', owner: 'connection:c-globex' };
      await adapters.store.connections.upsert({
        tenantId: 'globex',
        id: 'c-globex',
        service: 'crm',
        subject: 'alice',
        status: 'active',
        scopes: [],
        accessToken: await adapters.vault.encrypt({ ...scope, field: 'access_token' }, 'at-globex'),
        refreshToken: await adapters.vault.encrypt({ ...scope, field: 'refresh_token' }, 'rt-globex'),
        accessExpiresAt: now + 3_600_000,
        createdAt: now,
      });
    } finally {
      await adapters.close();
    }

    const user = await cli(['users', 'add', '--config', file, '--tenant', 'globex', '--name', 'bob']);
    expect(user.code, user.stderr).toBe(0);
    expect(user.stdout).toContain('/invite/');
    const key = await cli(['keys', 'create', '--config', file, '--tenant', 'globex', '--toolset', 'all']);
    expect(key.code, key.stderr).toBe(0);
    expect(key.stdout).toMatch(/gatehouse_sk_/);
    const unknown = await cli(['users', 'list', '--config', file, '--tenant', 'nowhere']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('No tenant nowhere in the config or the store');

    // Forced past its stored configuration, the purge revokes its connection with the stored document's service.
    const purged = await cli(['tenant', 'purge', '--config', file, '--tenant', 'globex', '--force']);
    expect(purged.code, purged.stderr).toBe(0);
    expect(purged.stdout).toContain('1 revoked upstream');
    expect(as.received.filter((r) => r.path === '/revoke').map((r) => r.form.get('token'))).toEqual([
      'rt-globex',
      'at-globex',
    ]);
  });
});
