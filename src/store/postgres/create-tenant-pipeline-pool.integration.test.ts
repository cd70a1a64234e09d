import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreDatabase } from '../store-database.ts';
import { createTenantPipelinePool } from './create-tenant-pipeline-pool.ts';
import { runInTenantTransaction } from './run-in-tenant-transaction.ts';

/**
 * The tenant transaction whose `begin` and setting travel with the first statement, on one pooled connection
 * (max 1, so every operation and every check below runs on the same session): the statement sees its tenant, the
 * connection goes back naming none, a failing first statement rolls everything back, and statements sent after
 * the first in the same operation stay in its transaction.
 */
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];

describe.skipIf(postgresUrl === undefined)('createTenantPipelinePool (postgres)', () => {
  let pool: pg.Pool;
  let db: Kysely<StoreDatabase>;
  const tenantOf = async (on: Kysely<StoreDatabase>) =>
    (await sql<{ t: string | null }>`select current_setting('gatehouse.tenant', true) as t`.execute(on)).rows[0]?.t;
  const backendOf = async (on: Kysely<StoreDatabase>) =>
    (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(on)).rows[0]?.pid;

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: postgresUrl, max: 1, pipeline: true });
    db = new Kysely<StoreDatabase>({ dialect: new PostgresDialect({ pool: createTenantPipelinePool(pool) }) });
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it("the first statement runs in the tenant's transaction; the connection then names no tenant", async () => {
    const backend = await backendOf(db);
    const seen = await runInTenantTransaction(db, 'acme', async (on) => ({
      tenant: await tenantOf(on),
      backend: await backendOf(on),
    }));
    expect(seen.tenant).toBe('acme');
    expect(seen.backend).toBe(backend);
    expect([null, '']).toContain(await tenantOf(db));
  });

  it('statements after the first stay in the same transaction (a write is seen by the next and rolled back with it)', async () => {
    await sql`create temporary table if not exists pipeline_probe (v text)`.execute(db);
    const failed = runInTenantTransaction(db, 'acme', async (on) => {
      await sql`insert into pipeline_probe values ('x')`.execute(on);
      const rows = (await sql<{ n: number }>`select count(*)::int as n from pipeline_probe`.execute(on)).rows;
      expect(rows[0]?.n).toBe(1);
      expect(await tenantOf(on)).toBe('acme');
      throw new Error('roll it back');
    });
    await expect(failed).rejects.toThrow('roll it back');
    const after = (await sql<{ n: number }>`select count(*)::int as n from pipeline_probe`.execute(db)).rows;
    expect(after[0]?.n).toBe(0);
    expect([null, '']).toContain(await tenantOf(db));
  });

  it('a failing first statement rolls back and leaves the connection usable, naming no tenant', async () => {
    await expect(
      runInTenantTransaction(db, 'acme', (on) => sql`select * from no_such_table_anywhere`.execute(on)),
    ).rejects.toMatchObject({ code: '42P01' });
    expect([null, '']).toContain(await tenantOf(db));
    expect(await runInTenantTransaction(db, 'globex', tenantOf)).toBe('globex');
  });

  it('an operation that sends no statement sends nothing, and the next one is unaffected', async () => {
    expect(await runInTenantTransaction(db, 'acme', async () => 'nothing sent')).toBe('nothing sent');
    expect([null, '']).toContain(await tenantOf(db));
    expect(await runInTenantTransaction(db, 'initech', tenantOf)).toBe('initech');
  });
});
