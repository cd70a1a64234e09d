import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreDatabase } from '../store-database.ts';
import { createTenantPipelinePool } from './create-tenant-pipeline-pool.ts';
import { runInTenantTransaction, runOneStatementInTenant } from './run-in-tenant-transaction.ts';

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

  /** For each statement the client sent, how many answers had come back before it went out (0 = first round trip). */
  let sentAfterAnswers: { readonly sql: string; readonly answers: number }[] = [];

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: postgresUrl, max: 1, pipeline: true });
    // Counts round trips: a statement written before any earlier answer arrived shares their round trip.
    const counting = {
      async connect() {
        const client = await pool.connect();
        let answers = 0;
        return Object.assign(Object.create(client) as pg.PoolClient, {
          query: (sql: string, parameters?: unknown[]) => {
            sentAfterAnswers.push({ sql, answers });
            return (client.query(sql, parameters) as Promise<pg.QueryResult>).finally(() => {
              answers += 1;
            });
          },
          release: () => client.release(),
        });
      },
      end: () => pool.end(),
    } as unknown as pg.Pool;
    db = new Kysely<StoreDatabase>({ dialect: new PostgresDialect({ pool: createTenantPipelinePool(counting) }) });
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

  it('commit_rolled_back_reported_as_success: an operation that went on after a failed statement is not told it committed', async () => {
    // PostgreSQL answers `commit` of an aborted transaction with ROLLBACK, not an error: an operation that caught
    // a failed statement and went on resolved as if its earlier writes had landed, and they had not.
    await sql`create temporary table if not exists pipeline_probe (v text)`.execute(db);
    const operation = runInTenantTransaction(db, 'acme', async (on) => {
      await sql`insert into pipeline_probe values ('lost')`.execute(on);
      await sql`select * from no_such_table_anywhere`.execute(on).catch(() => undefined);
      return 'written';
    });
    await expect(operation).rejects.toThrow(/rolled back/);
    const after = (await sql<{ n: number }>`select count(*)::int as n from pipeline_probe`.execute(db)).rows;
    expect(after[0]?.n).toBe(0);
    expect([null, '']).toContain(await tenantOf(db));
    expect(await runInTenantTransaction(db, 'globex', tenantOf)).toBe('globex');
  });

  it('an operation that sends no statement sends nothing, and the next one is unaffected', async () => {
    expect(await runInTenantTransaction(db, 'acme', async () => 'nothing sent')).toBe('nothing sent');
    expect([null, '']).toContain(await tenantOf(db));
    expect(await runInTenantTransaction(db, 'initech', tenantOf)).toBe('initech');
  });

  it('an operation of one statement begun for one costs one round trip: begin, setting, statement and commit go out together', async () => {
    await sql`create temporary table if not exists pipeline_one (v text)`.execute(db);
    await sql`truncate pipeline_one`.execute(db);
    sentAfterAnswers = [];
    let many = 0;
    const tenant = await runOneStatementInTenant(
      db,
      'acme',
      async (on) => {
        await sql`insert into pipeline_one values (current_setting('gatehouse.tenant', true))`.execute(on);
        return 'inserted';
      },
      () => many++,
    );
    expect(tenant).toBe('inserted');
    expect(many).toBe(0);
    expect(sentAfterAnswers.map((sent) => sent.answers)).toEqual([0, 0, 0, 0]);
    expect(sentAfterAnswers.at(-1)?.sql).toBe('commit');
    // Written in the tenant's transaction, which ended (commit was sent, above): the connection names no tenant.
    expect((await sql<{ v: string }>`select v from pipeline_one`.execute(db)).rows).toEqual([{ v: 'acme' }]);
    expect([null, '']).toContain(await tenantOf(db));
  });

  it('the same operation through runInTenantTransaction costs two round trips (commit waits for the answer)', async () => {
    sentAfterAnswers = [];
    await runInTenantTransaction(db, 'acme', tenantOf);
    expect(sentAfterAnswers.map((sent) => sent.answers)).toEqual([0, 0, 0, 3]);
  });

  it('an operation begun for one statement that sends two runs again as a full transaction and says so', async () => {
    let many = 0;
    let runs = 0;
    const seen = await runOneStatementInTenant(
      db,
      'globex',
      async (on) => {
        runs += 1;
        return [await tenantOf(on), await backendOf(on)];
      },
      () => many++,
    );
    expect(seen[0]).toBe('globex');
    expect(seen[1]).toBeTypeOf('number');
    expect({ runs, many }).toEqual({ runs: 2, many: 1 });
    expect([null, '']).toContain(await tenantOf(db));
  });

  it('two statements sent at once by an operation begun for one: the second never goes out after commit (it would name no tenant)', async () => {
    let many = 0;
    const seen = await runOneStatementInTenant(
      db,
      'initech',
      (on) => Promise.all([tenantOf(on), tenantOf(on)]),
      () => many++,
    );
    expect(seen).toEqual(['initech', 'initech']);
    expect(many).toBe(1);
  });

  it('a failing statement begun for one: its error, nothing committed, the connection usable and naming no tenant', async () => {
    await sql`truncate pipeline_one`.execute(db);
    await expect(
      runOneStatementInTenant(
        db,
        'acme',
        (on) => sql`insert into pipeline_one select v from no_such_table_anywhere`.execute(on),
        () => undefined,
      ),
    ).rejects.toMatchObject({ code: '42P01' });
    expect((await sql<{ n: number }>`select count(*)::int as n from pipeline_one`.execute(db)).rows[0]?.n).toBe(0);
    expect([null, '']).toContain(await tenantOf(db));
    expect(await runOneStatementInTenant(db, 'globex', tenantOf, () => undefined)).toBe('globex');
  });
});
