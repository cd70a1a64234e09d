import { Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreDatabase } from '../store-database.ts';
import { createPostgresDialect } from './create-postgres-dialect.ts';
import { createTenantPipelinePool } from './create-tenant-pipeline-pool.ts';
import { onMigrationConnection } from './postgres-roles.ts';

/**
 * The migration's connection names every tenant for its whole session (`gatehouse.tenant=*`), and must never go
 * back to the pool still naming them. One pooled connection (max 1), so the operation after the migration runs on
 * the same session unless that session was closed.
 */
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];

describe.skipIf(postgresUrl === undefined)('onMigrationConnection (postgres)', () => {
  let db: Kysely<StoreDatabase>;
  const sessionAfterwards = () =>
    db.connection().execute(async (on) => {
      // Ends whatever transaction the migration left behind, so the setting itself can be read.
      await sql`rollback`.execute(on);
      const { rows } = await sql<{ tenant: string | null; backend: number }>`
        select current_setting('gatehouse.tenant', true) as tenant, pg_backend_pid() as backend`.execute(on);
      return rows[0];
    });

  beforeAll(() => {
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 1, pipeline: true });
    db = new Kysely<StoreDatabase>({ dialect: createPostgresDialect(createTenantPipelinePool(pool)) });
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('the migration sees every tenant, and its connection goes back naming none', async () => {
    const before = await sessionAfterwards();
    const during = await onMigrationConnection(
      db,
      async (on) =>
        (await sql<{ tenant: string }>`select current_setting('gatehouse.tenant') as tenant`.execute(on)).rows[0]
          ?.tenant,
    );
    expect(during).toBe('*');
    const after = await sessionAfterwards();
    expect(after?.backend).toBe(before?.backend);
    expect(after?.tenant ?? '').toBe('');
  });

  it('migration_connection_keeps_all_tenants: a connection whose reset failed is closed, not pooled', async () => {
    const before = await sessionAfterwards();
    // A migration that leaves its transaction aborted: the reset after it fails (25P02) on that session.
    await onMigrationConnection(db, async (on) => {
      await sql`begin`.execute(on);
      await expect(sql`select 1 / 0`.execute(on)).rejects.toThrow(/division by zero/);
    });
    const after = await sessionAfterwards();
    expect(after?.tenant ?? '').toBe('');
    expect(after?.backend).not.toBe(before?.backend);
  });
});
