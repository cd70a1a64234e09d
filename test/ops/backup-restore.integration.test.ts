import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { GatehouseError, parseConfig } from '../../src/core/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import { withStoreSchema } from '../../src/store/index.ts';
import { asRole, createRoleSchema, ownerRole, type RoleSchema } from '../support/postgres-roles.ts';
import { runCliInProcess } from '../support/run-cli-in-process.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway } from '../support/start-test-gateway.ts';
import { callGetItem, requireUpstreamKey, staticKeyTenant } from '../support/static-key-tenant.ts';

/**
 * Issue 13, backups (docs/operations.md "Backup and restore"): the store is backed up with the database's own
 * tools, exactly as the docs print them (SQLite: `VACUUM INTO` while the gateway serves; PostgreSQL: `pg_dump` as
 * the owner role, restored with `psql` into a fresh database). Restored with the same master key, a secret that
 * lives only in the store decrypts, a tool call succeeds and `audit verify` passes; restored with another master
 * key the gateway refuses to start with `decrypt_failed` and the database is left byte-for-byte as it was.
 */
const run = promisify(execFile);
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const storedToken = 'a-token-that-lives-only-in-the-store';
const tokenScope = { tenantId: 'acme', owner: 'connection:backup', field: 'access_token' } as const;
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

interface Backup {
  /** Store URLs of the original database and a fresh restored copy (config `store`, `migrationStore`). */
  readonly original: { store: string; migrationStore?: string };
  backup(): Promise<void>;
  /** Restores the backup into a fresh database; returns its URLs. */
  restore(): Promise<{ store: string; migrationStore?: string }>;
  /** The restored database's whole content, to compare before and after a refused start. */
  snapshot(): Promise<string>;
  cleanup(): Promise<void>;
}

let api: FakeApi;
let dir: string;

beforeAll(async () => {
  api = await startFakeApi();
  requireUpstreamKey(api);
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-backup-'));
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const kinds: { name: string; enabled: boolean; create: () => Promise<Backup> }[] = [
  {
    name: 'sqlite (VACUUM INTO while serving)',
    enabled: true,
    async create() {
      const folder = mkdtempSync(join(dir, 'sqlite-'));
      const live = join(folder, 'gatehouse.db');
      const copy = join(folder, 'backup.db');
      const restored = join(folder, 'restored', 'gatehouse.db');
      return {
        original: { store: `sqlite:${live}` },
        async backup() {
          await run('sqlite3', [live, `VACUUM INTO '${copy}'`]);
        },
        async restore() {
          await run('mkdir', ['-p', join(folder, 'restored')]);
          await run('cp', [copy, restored]);
          return { store: `sqlite:${restored}` };
        },
        async snapshot() {
          return (await run('sqlite3', [restored, '.dump'], { maxBuffer: 64 * 1024 * 1024 })).stdout;
        },
        async cleanup() {},
      };
    },
  },
  {
    name: 'postgres (pg_dump as the owner, psql into a fresh database, served as the application role)',
    enabled: postgresUrl !== undefined,
    async create() {
      const roles: RoleSchema = await createRoleSchema(postgresUrl ?? '');
      const dump = join(dir, `${roles.schema}.sql`);
      const database = `${roles.schema}_restored`;
      const inDatabase = (url: string) => {
        const parsed = new URL(url);
        parsed.pathname = `/${database}`;
        return parsed.toString();
      };
      // The owner is bound by FORCE row-level security too: pg_dump and psql name every tenant for their session.
      const asOwner = { env: { ...process.env, PGOPTIONS: '-c gatehouse.tenant=*' }, maxBuffer: 64 * 1024 * 1024 };
      return {
        original: { store: roles.appUrl, migrationStore: roles.ownerUrl },
        async backup() {
          await run(
            'pg_dump',
            ['--enable-row-security', '--schema', roles.schema, '--file', dump, asRole(postgresUrl ?? '', ownerRole)],
            asOwner,
          );
        },
        async restore() {
          await roles.admin(`create database ${database} owner ${ownerRole}`);
          await run(
            'psql',
            ['-v', 'ON_ERROR_STOP=1', '-q', '-d', inDatabase(asRole(postgresUrl ?? '', ownerRole)), '-f', dump],
            asOwner,
          );
          return {
            store: withStoreSchema(inDatabase(asRole(postgresUrl ?? '', 'gh_rls_app')), roles.schema),
            migrationStore: withStoreSchema(inDatabase(asRole(postgresUrl ?? '', ownerRole)), roles.schema),
          };
        },
        async snapshot() {
          const { stdout } = await run(
            'pg_dump',
            ['--enable-row-security', '--data-only', inDatabase(asRole(postgresUrl ?? '', ownerRole))],
            asOwner,
          );
          // pg_dump 15.14+ wraps its output in a random \restrict key per run: not content.
          return stdout.replace(/^\\(un)?restrict .*$/gm, '');
        },
        async cleanup() {
          const admin = new pg.Client({ connectionString: postgresUrl });
          await admin.connect();
          await admin.query(`drop database if exists ${database} with (force)`).catch(() => undefined);
          await admin.end();
          await roles.drop();
        },
      };
    },
  },
];

for (const kind of kinds) {
  describe.skipIf(!kind.enabled)(`backup and restore: ${kind.name}`, () => {
    it('restored with the master key: the stored token decrypts, a tool call succeeds, the audit chain verifies', async () => {
      const masterKey = randomBytes(32).toString('base64');
      const backup = await kind.create();
      try {
        const before = await startTestGateway(staticKeyTenant(api, backup.original, masterKey));
        try {
          await before.adapters.store.secrets.put({
            ...tokenScope,
            ciphertext: await before.adapters.vault.encrypt(tokenScope, storedToken),
            updatedAt: Date.now(),
          });
          const first = await callGetItem(before.url, '42');
          expect(first.status).toBe(200);
          expect(first.text).toContain('42');
          await before.adapters.audit?.flush();
          // SQLite is copied while the gateway still serves (VACUUM INTO reads a consistent snapshot).
          if (backup.original.store.startsWith('sqlite')) await backup.backup();
        } finally {
          await before.close();
        }
        if (!backup.original.store.startsWith('sqlite')) await backup.backup();

        const restored = await backup.restore();
        const after = await startTestGateway(staticKeyTenant(api, restored, masterKey));
        try {
          const secret = await after.adapters.store.secrets.get(
            tokenScope.tenantId,
            tokenScope.owner,
            tokenScope.field,
          );
          expect(secret).toBeDefined();
          expect(await after.adapters.vault.decrypt(tokenScope, secret?.ciphertext ?? new Uint8Array())).toBe(
            storedToken,
          );
          const second = await callGetItem(after.url, '42');
          expect(second.status).toBe(200);
          expect(second.text).toContain('42');
          const outcomes = await after.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call' });
          expect(outcomes.length).toBeGreaterThanOrEqual(1);
        } finally {
          await after.close();
        }
        const configFile = join(dir, `verify-${randomBytes(4).toString('hex')}.yaml`);
        writeFileSync(configFile, stringify(staticKeyTenant(api, restored, masterKey)), { mode: 0o600 });
        const verify = await runCliInProcess(['audit', 'verify', '--tenant', 'acme', '--config', configFile], {
          openAdapters,
        });
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);
        // The records of both gateways' calls, before and after the restore, in one chain.
        expect(Number(/is intact: (\d+) records/.exec(verify.stdout)?.[1])).toBeGreaterThanOrEqual(2);

        // Without the master key it was written with: nothing decrypts, the start is refused, nothing changes.
        const unchanged = await backup.snapshot();
        const config = parseConfig(
          { ...staticKeyTenant(api, restored, randomBytes(32).toString('base64')), dataDir: dir, logLevel: 'silent' },
          { env: {}, baseDir: dir },
        );
        const refused = await openAdapters(config, { stderr: quiet }).then(
          async (adapters) => {
            await adapters.close();
            return undefined;
          },
          (error: unknown) => error,
        );
        expect(refused).toBeInstanceOf(GatehouseError);
        expect((refused as GatehouseError).code).toBe('decrypt_failed');
        expect((refused as GatehouseError).message).not.toContain(masterKey);
        expect(await backup.snapshot()).toBe(unchanged);
      } finally {
        await backup.cleanup();
      }
    });
  });
}
