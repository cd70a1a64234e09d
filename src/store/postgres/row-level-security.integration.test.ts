import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantTables } from '../create-row-level-security-migration.ts';
import { createTestSchemaName } from '../create-test-schema-name.ts';
import { openStore } from '../open-store.ts';
import type { Store } from '../port.ts';

/**
 * MT-03/04 on PostgreSQL, bound to a role that is not a superuser (superusers bypass row-level security): the
 * store runs as `gh_rls_owner`, a login role owning the test schema and so every table in it. FORCE makes the
 * policies bind the owner too; the store names each operation's tenant in its transaction (`allTenants` for the
 * few cross-tenant operations), which is what lets it work. The production layout (a separate application role)
 * is tested in tenant-isolation.integration.test.ts.
 * The role is cluster-wide and kept between runs (tests run in parallel; dropping it could break another run).
 */
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const role = 'gh_rls_owner';

function asRole(url: string): string {
  const parsed = new URL(url);
  parsed.username = role;
  parsed.password = '';
  return parsed.toString();
}

describe.skipIf(postgresUrl === undefined)('row-level security (postgres)', () => {
  const schema = createTestSchemaName();
  let admin: pg.Client;
  let store: Store;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`do $$ begin create role ${role} login nosuperuser nobypassrls;
      exception when duplicate_object then null; end $$`);
    await admin.query(`create schema "${schema}" authorization ${role}`);
    store = await openStore(asRole(postgresUrl ?? ''), { schema });
    await store.migrate();
    for (const tenant of ['acme', 'globex']) {
      await store.tenants.ensure(tenant, 1);
      await store.secrets.put({
        tenantId: tenant,
        owner: 'o',
        field: 'f',
        ciphertext: new Uint8Array([1]),
        updatedAt: 1,
      });
      await store.clientKeys.upsert({
        tenantId: tenant,
        id: `k-${tenant}`,
        name: `k-${tenant}`,
        hash: `hash-${tenant}`,
        prefix: 'p',
        toolsets: ['t'],
        subject: 's',
        createdAt: 1,
        revokedAt: null,
      });
    }
  });

  afterAll(async () => {
    await store?.close();
    await admin?.query(`drop schema if exists "${schema}" cascade`);
    await admin?.end();
  });

  it('MT-03 every tenant table has row-level security enabled and forced', async () => {
    const withTenant = await admin.query<{ table_name: string }>(
      `select distinct table_name from information_schema.columns
        where table_schema = $1 and column_name = 'tenant_id' order by table_name`,
      [schema],
    );
    const names = [...withTenant.rows.map((row) => row.table_name), 'tenants'];
    expect(names.length).toBeGreaterThanOrEqual(tenantTables.length);
    const flags = await admin.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
      `select c.relname, c.relrowsecurity, c.relforcerowsecurity from pg_class c
        join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2)`,
      [schema, names],
    );
    expect(flags.rows).toHaveLength(names.length);
    for (const row of flags.rows)
      expect(row, row.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true });
  });

  it('MT-04 the owner role without the tenant setting sees zero rows and cannot write; with it, only its tenant', async () => {
    const client = new pg.Client({ connectionString: asRole(postgresUrl ?? ''), options: `-c search_path=${schema}` });
    await client.connect();
    try {
      const owner = await client.query<{ rolsuper: boolean; rolbypassrls: boolean; owner: string }>(
        `select r.rolsuper, r.rolbypassrls, t.tableowner as owner from pg_roles r, pg_tables t
          where r.rolname = current_user and t.schemaname = $1 and t.tablename = 'secrets'`,
        [schema],
      );
      expect(owner.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false, owner: role });
      for (const [table] of tenantTables) {
        const count = await client.query<{ n: string }>(`select count(*) as n from ${table}`);
        expect(Number(count.rows[0]?.n), table).toBe(0);
      }
      await expect(
        client.query(
          `insert into secrets (tenant_id, owner, field, ciphertext, updated_at) values ('acme', 'x', 'y', '\\x01', 1)`,
        ),
      ).rejects.toMatchObject({ code: '42501' });

      await client.query('begin');
      await client.query(`select set_config('gatehouse.tenant', 'acme', true)`);
      const own = await client.query<{ tenant_id: string }>('select tenant_id from client_keys');
      expect(own.rows).toEqual([{ tenant_id: 'acme' }]);
      const other = await client.query(`select * from secrets where tenant_id = 'globex'`);
      expect(other.rows).toHaveLength(0);
      await client.query('commit');
      // Transaction-local: gone after commit.
      const after = await client.query<{ n: string }>('select count(*) as n from client_keys');
      expect(Number(after.rows[0]?.n)).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('the store still works across tenants where it says so (allTenants): key lookup by hash and tenant list', async () => {
    expect((await store.clientKeys.findByHash('hash-globex'))?.tenantId).toBe('globex');
    expect([...(await store.tenants.list())].sort()).toEqual(['acme', 'globex']);
    expect(await store.secrets.get('acme', 'o', 'f')).toBeDefined();
  });
});
