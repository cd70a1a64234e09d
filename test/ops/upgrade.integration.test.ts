import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/core/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import { openStore } from '../../src/store/index.ts';
import { createRoleSchema } from '../support/postgres-roles.ts';
import { captureText, runCliInProcess } from '../support/run-cli-in-process.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway } from '../support/start-test-gateway.ts';
import { callGetItem, requireUpstreamKey, staticKeyTenant } from '../support/static-key-tenant.ts';
import { type TestDatabase, testDatabases } from '../support/test-databases.ts';

/**
 * Issue 13, upgrades (docs/operations.md "Upgrading"): migrations are forward-only and expand-only, so during a
 * rolling deploy the two releases overlap on one database in both directions:
 * - the previous release's schema (every migration but the newest) with this release's code: it migrates the rest
 *   at start, keeps the rows written before, serves, and the audit chain verifies across the upgrade;
 * - the reverse, one version: this release on a schema one release ahead (an expand migration it does not know,
 *   applied while it serves): it keeps serving, and a restart serves on it with a warning instead of refusing.
 */
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];

/** The store URLs of one database: SQLite, or PostgreSQL served as the application role, migrated by the owner. */
interface Layout {
  readonly store: string;
  readonly migrationStore?: string;
  /** SQL as the tables' owner (the next release's migration). */
  raw(statement: string): Promise<void>;
  drop(): Promise<void>;
}

let api: FakeApi;
let dir: string;

beforeAll(async () => {
  api = await startFakeApi();
  requireUpstreamKey(api);
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-upgrade-'));
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

const layouts: { name: string; enabled: boolean; create(): Promise<Layout> }[] = [
  {
    name: 'sqlite',
    enabled: true,
    async create() {
      const db: TestDatabase = await (testDatabases(dir)[0]?.create() ?? Promise.reject(new Error('no sqlite')));
      return { store: db.url, raw: (s) => db.raw(s), drop: () => db.drop() };
    },
  },
  {
    name: 'postgres (application role)',
    enabled: postgresUrl !== undefined,
    async create() {
      const roles = await createRoleSchema(postgresUrl ?? '');
      return {
        store: roles.appUrl,
        migrationStore: roles.ownerUrl,
        // As the owner would run it (the superuser client is in the schema; the new table goes to the owner).
        raw: async (statement) => {
          await roles.admin(`set role gh_rls_owner; ${statement}; reset role`);
        },
        drop: () => roles.drop(),
      };
    },
  },
];

const urls = (layout: Layout) => ({
  store: layout.store,
  ...(layout.migrationStore === undefined ? {} : { migrationStore: layout.migrationStore }),
});

async function verifyAudit(layout: Layout, masterKey: string): Promise<{ code: number; stdout: string }> {
  const configFile = join(dir, `verify-${randomBytes(4).toString('hex')}.yaml`);
  writeFileSync(configFile, stringify(staticKeyTenant(api, urls(layout), masterKey)), { mode: 0o600 });
  return runCliInProcess(['audit', 'verify', '--tenant', 'acme', '--config', configFile], { openAdapters });
}

for (const kind of layouts) {
  describe.skipIf(!kind.enabled)(`upgrades on ${kind.name}`, () => {
    it("the previous release's schema with this release's code: migrates the rest, keeps the rows, serves", async () => {
      const layout = await kind.create();
      const masterKey = randomBytes(32).toString('base64');
      try {
        // The previous release: every migration but the newest, and what it wrote.
        const owner = await openStore(layout.migrationStore ?? layout.store);
        const all = (await owner.inspect()).pendingMigrations;
        const previous = all.at(-2);
        expect(previous).toBeDefined();
        await owner.migrate({ through: previous ?? '' });
        expect((await owner.inspect()).pendingMigrations).toEqual(all.slice(-1));
        await owner.tenants.ensure('acme', 1_700_000_000_000);
        await owner.tenants.ensure('left-from-before', 1_700_000_000_000);
        await owner.close();

        const gateway = await startTestGateway(staticKeyTenant(api, urls(layout), masterKey));
        try {
          expect((await gateway.adapters.store.inspect()).pendingMigrations).toEqual([]);
          expect(await gateway.adapters.store.tenants.list()).toContain('left-from-before');
          const call = await callGetItem(gateway.url, '7');
          expect(call.status).toBe(200);
          expect(call.text).toContain('7');
        } finally {
          await gateway.close();
        }
        const verified = await verifyAudit(layout, masterKey);
        expect(verified.code, verified.stdout).toBe(0);
      } finally {
        await layout.drop();
      }
    });

    it('the reverse: this release keeps serving on a schema one release ahead, and restarts on it', async () => {
      const layout = await kind.create();
      const masterKey = randomBytes(32).toString('base64');
      try {
        const serving = await startTestGateway(staticKeyTenant(api, urls(layout), masterKey));
        try {
          expect((await callGetItem(serving.url, '1')).status).toBe(200);
          // The next release migrates while this one serves: an expand step (a new nullable column, a new table).
          await layout.raw(
            `alter table connections add column next_release_note text;
             create table next_release_things (tenant_id text not null, id text not null, primary key (tenant_id, id));
             insert into kysely_migration (name, timestamp) values ('9999_next_release', '2030-01-01T00:00:00.000Z')`,
          );
          expect((await callGetItem(serving.url, '2')).status).toBe(200);
        } finally {
          await serving.close();
        }
        // A process of this release (re)starting during the rolling deploy serves on the newer schema.
        const stderr = captureText();
        const config = parseConfig(
          { ...staticKeyTenant(api, urls(layout), masterKey), dataDir: dir, logLevel: 'silent' },
          { env: {}, baseDir: dir },
        );
        const adapters = await openAdapters(config, { stderr: stderr.stream as unknown as NodeJS.WritableStream });
        await adapters.close();
        expect(stderr.text()).toContain('migrated by a newer release (9999_next_release)');
        const restarted = await startTestGateway(staticKeyTenant(api, urls(layout), masterKey));
        try {
          expect((await callGetItem(restarted.url, '3')).status).toBe(200);
        } finally {
          await restarted.close();
        }
        const verified = await verifyAudit(layout, masterKey);
        expect(verified.code, verified.stdout).toBe(0);
        const doctorFile = join(dir, `doctor-${randomBytes(4).toString('hex')}.yaml`);
        writeFileSync(doctorFile, stringify(staticKeyTenant(api, urls(layout), masterKey)), { mode: 0o600 });
        const doctor = await runCliInProcess(['doctor', '--config', doctorFile], { openAdapters });
        expect(doctor.stdout).toMatch(
          /warn\s+migrations\s+the database ran migrations this release does not have: 9999_next_release \(a newer release/,
        );
      } finally {
        await layout.drop();
      }
    });
  });
}
