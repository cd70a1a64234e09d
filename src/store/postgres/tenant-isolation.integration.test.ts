import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applicationRole,
  asRole,
  createRoleSchema,
  ownerRole,
  type RoleSchema,
} from '../../../test/support/postgres-roles.ts';
import { openTenantRows, type TenantTable } from '../../../test/support/tenant-rows.ts';
import { GatehouseError } from '../../core/index.ts';
import { tenantTables } from '../create-row-level-security-migration.ts';
import { migrateWithOwner } from '../migrate-with-owner.ts';
import { openStore } from '../open-store.ts';
import type { Store } from '../port.ts';
import { withStoreSchema } from '../with-store-schema.ts';

/**
 * Issue 13, "tenants isolated by the database too" (MT-03/04): the gateway serves as a non-owner application role
 * and names its tenant per transaction. Every table with a tenant column is found in the catalogue (not taken
 * from a list), so a table added by a later migration is tested without anyone remembering to add it.
 */
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];

describe.skipIf(postgresUrl === undefined)('tenant isolation by the database (postgres, application role)', () => {
  let roles: RoleSchema;
  let store: Store;
  let tables: readonly TenantTable[];
  let app: pg.Client;

  beforeAll(async () => {
    roles = await createRoleSchema(postgresUrl ?? '');
    store = await openStore(roles.appUrl);
    await migrateWithOwner(store, roles.appUrl, roles.ownerUrl);
    // Two rows in every tenant table, one per tenant, written around row-level security (as a superuser).
    const rows = await openTenantRows(withStoreSchema(postgresUrl ?? '', roles.schema));
    try {
      tables = await rows.tenantTables();
      for (const table of tables) for (const tenant of ['acme', 'globex']) await rows.insertSample(table, tenant);
    } finally {
      await rows.close();
    }
    app = new pg.Client({
      connectionString: asRole(postgresUrl ?? '', applicationRole),
      options: `-c search_path=${roles.schema}`,
    });
    await app.connect();
  });

  afterAll(async () => {
    await app?.end();
    await store?.close();
    await roles?.drop();
  });

  it('finds every tenant table of the schema, the listed ones among them', () => {
    const names = tables.map((t) => t.table);
    for (const [table] of tenantTables) expect(names).toContain(table);
    // audit_sequences is PostgreSQL's old per-tenant counter; any other table is new since 0008 and tested below.
    expect(names.length).toBeGreaterThanOrEqual(tenantTables.length);
  });

  it('a query for tenant A in a transaction of tenant B returns no rows, in every tenant table', async () => {
    for (const { table, column } of tables) {
      await app.query('begin');
      try {
        await app.query(`select set_config('gatehouse.tenant', 'globex', true)`);
        const other = await app.query(`select * from ${table} where ${column} = 'acme'`);
        expect(other.rows, `${table}: acme's rows seen by globex`).toHaveLength(0);
        const all = await app.query<{ tenant: string }>(`select ${column} as tenant from ${table}`);
        expect(
          all.rows.map((row) => row.tenant),
          `${table}: globex sees its own row only`,
        ).toEqual(['globex']);
        const updated = await app.query(`update ${table} set ${column} = ${column} where ${column} = 'acme'`);
        expect(updated.rowCount, `${table}: update of acme's row`).toBe(0);
        const deleted = await app.query(`delete from ${table} where ${column} = 'acme'`);
        expect(deleted.rowCount, `${table}: delete of acme's row`).toBe(0);
        // Moving its own row to another tenant is refused by the policy's WITH CHECK.
        await expect(
          app.query(`update ${table} set ${column} = 'acme' where ${column} = 'globex'`),
          `${table}: row moved to acme`,
        ).rejects.toMatchObject({ code: '42501' });
      } finally {
        await app.query('rollback');
      }
    }
  });

  it('outside a tenant transaction the application role sees no tenant rows and writes none', async () => {
    for (const { table, column } of tables) {
      const seen = await app.query(`select * from ${table}`);
      expect(seen.rows, table).toHaveLength(0);
      const updated = await app.query(`update ${table} set ${column} = ${column}`);
      expect(updated.rowCount, table).toBe(0);
    }
    // And a transaction's setting does not outlive it on the pooled session.
    await app.query('begin');
    await app.query(`select set_config('gatehouse.tenant', 'acme', true)`);
    expect((await app.query('select * from secrets')).rows).toHaveLength(1);
    await app.query('commit');
    expect((await app.query('select * from secrets')).rows).toHaveLength(0);
  });

  it('the application role cannot lift the isolation: no DDL on the tables, no writes to the migration log', async () => {
    for (const statement of [
      'alter table secrets disable row level security',
      'alter table secrets no force row level security',
      'drop policy tenant_isolation on secrets',
      `create policy everything on secrets using (true)`,
      `insert into kysely_migration (name, timestamp) values ('9999_x', 'now')`,
    ]) {
      await expect(app.query(statement), statement).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('the store serves through the application role: each tenant reads its own rows only', async () => {
    const inspection = await store.inspect();
    expect(inspection.role).toEqual({
      name: applicationRole,
      boundByRowLevelSecurity: true,
      ownsTables: false,
      tablesOwner: ownerRole,
    });
    expect(inspection.pendingMigrations).toEqual([]);
    expect(await store.tenants.list()).toEqual(['acme', 'globex']);
    expect((await store.secrets.listByOwner('acme', 'acme-owner')).map((s) => s.tenantId)).toEqual(['acme']);
    expect(await store.secrets.listByOwner('acme', 'globex-owner')).toEqual([]);
    // (The sample rows above are not valid client keys; a real one of a third tenant.)
    await store.tenants.ensure('initech', 1);
    await store.clientKeys.upsert({
      tenantId: 'initech',
      id: 'k',
      name: 'k',
      hash: 'initech-key-hash',
      prefix: 'p',
      toolsets: ['t'],
      subject: 's',
      createdAt: 1,
      revokedAt: null,
    });
    expect((await store.clientKeys.findByHash('initech-key-hash'))?.tenantId).toBe('initech');
    expect((await store.clientKeys.list('initech')).map((k) => k.tenantId)).toEqual(['initech']);
    expect(await store.tenants.list()).toEqual(['acme', 'globex', 'initech']);
  });

  it('tenant_wildcard_as_tenant_id: the store refuses a tenant named *, the policies\' "every tenant" value', async () => {
    // Every repository query also filters on its tenant column, so nothing leaks today; but an operation named
    // with tenant `*` (an admin API path /api/v1/tenants/%2A/..., a stored document of that id) ran with
    // row-level security lifted, the second layer gone. Only the store's own `allTenants` may name every tenant.
    for (const attempt of [
      () => store.clientKeys.list('*'),
      () => store.secrets.listByOwner('*', 'acme-owner'),
      () => store.tenants.ensure('*', 1),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'tenant' } });
    }
    expect(await store.tenants.list()).not.toContain('*');
    // The explicit bypass still works.
    expect((await store.clientKeys.findByHash('initech-key-hash'))?.tenantId).toBe('initech');
  });

  it('refuses an application role that is the owner itself, naming migrationStore', async () => {
    const owner = await openStore(roles.ownerUrl);
    try {
      expect((await owner.inspect()).role).toMatchObject({ name: ownerRole, ownsTables: true });
      const error = await migrateWithOwner(owner, roles.ownerUrl, roles.ownerUrl).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GatehouseError);
      expect((error as GatehouseError).code).toBe('config_invalid');
      expect((error as GatehouseError).message).toMatch(/migrationStore/);
    } finally {
      await owner.close();
    }
  });
});
