/**
 * Cost of tenant isolation by the database (issue 13): every PostgreSQL store operation now runs in a transaction
 * that names its tenant (`begin` and `select set_config('gatehouse.tenant', $t, true)` pipelined with the
 * statement in one round trip, then `commit`) as the non-owner application role, where it ran as one statement
 * before. This measures
 * that difference on the operation the request path repeats most (the connection row read of an OAuth call, a
 * primary-key lookup) and on the audit append (one record per batch, the worst case: no batching), against the
 * same statement sent alone on the same pool (the previous path), sequentially and with 50 callers. The store's
 * reads run in one round trip (begin, setting, statement and commit written together); the read is also timed
 * through the two-round-trip tenant transaction (commit after the answer), interleaved, for the difference.
 * Prints microseconds per operation for each and the added cost; relate it to S2's server time per call
 * (bench/LATEST.md) for the share of a call. Needs GATEHOUSE_TEST_POSTGRES (a superuser URL: it creates the two
 * roles and a schema, dropped at the end).
 * Run: GATEHOUSE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test npx tsx bench/rls-cost.ts [operations]
 */
import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { toolCallAuditRecord } from '../src/store/fixtures/tool-call-audit-record.ts';
import { type AuditSeal, migrateWithOwner, openStore } from '../src/store/index.ts';
import { createTenantPipelinePool } from '../src/store/postgres/create-tenant-pipeline-pool.ts';
import { runInTenantTransaction, runOneStatementInTenant } from '../src/store/postgres/run-in-tenant-transaction.ts';
import type { StoreDatabase } from '../src/store/store-database.ts';
import { createRoleSchema } from '../test/support/postgres-roles.ts';

const adminUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
if (adminUrl === undefined) {
  process.stderr.write('rls-cost: set GATEHOUSE_TEST_POSTGRES\n');
  process.exit(0);
}
const operations = Number(process.argv[2] ?? 4_000);
const rounds = 3;
const seal: AuditSeal = (record, prevHash) => createHash('sha256').update(`${prevHash}|${record.seq}`).digest('hex');

const roles = await createRoleSchema(adminUrl);
const store = await openStore(roles.appUrl);
try {
  await migrateWithOwner(store, roles.appUrl, roles.ownerUrl);
  await store.tenants.ensure('bench', 1);
  await store.connections.upsert({
    tenantId: 'bench',
    id: 'c1',
    service: 'svc',
    subject: 'alice',
    status: 'active',
    scopes: ['read'],
    accessToken: new Uint8Array(64),
    refreshToken: new Uint8Array(64),
    accessExpiresAt: null,
    createdAt: 1,
  });
  // The previous path: the same statement alone, on a pool of the same role whose sessions name the tenant.
  const pool = new pg.Pool({
    connectionString: new URL(roles.appUrl.replace(/[?&]schema=[^&]*/, '')).toString(),
    max: 10,
    options: `-c search_path=${roles.schema} -c gatehouse.tenant=bench`,
  });
  const plain = new Kysely<{ connections: { tenant_id: string; id: string } }>({
    dialect: new PostgresDialect({ pool }),
  });
  const read = {
    scoped: () => store.connections.get('bench', 'c1'),
    alone: () =>
      plain
        .selectFrom('connections')
        .selectAll()
        .where('tenant_id', '=', 'bench')
        .where('id', '=', 'c1')
        .executeTakeFirst(),
  };
  // The same read through both tenant transactions, on a pipeline pool of the application role.
  const pipelinePool = new pg.Pool({
    connectionString: new URL(roles.appUrl.replace(/[?&]schema=[^&]*/, '')).toString(),
    max: 10,
    pipeline: true,
    options: `-c search_path=${roles.schema}`,
  });
  const tenantDb = new Kysely<StoreDatabase>({
    dialect: new PostgresDialect({ pool: createTenantPipelinePool(pipelinePool) }),
  });
  const rowRead = (on: Kysely<StoreDatabase>) =>
    on.selectFrom('connections').selectAll().where('tenant_id', '=', 'bench').where('id', '=', 'c1').executeTakeFirst();
  const transactionRead = {
    one: () => runOneStatementInTenant(tenantDb, 'bench', rowRead, () => undefined),
    two: () => runInTenantTransaction(tenantDb, 'bench', rowRead),
  };
  let n = 0;
  const record = () => toolCallAuditRecord('bench', `r${++n}`);

  async function time(fn: () => Promise<unknown>, callers: number): Promise<number> {
    let left = operations;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (left-- > 0) await fn();
      }),
    );
    return ((performance.now() - started) / operations) * 1000;
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

  /** Median microseconds per operation of `before` and `after`, timed alternately round by round. */
  async function interleaved(
    before: () => Promise<unknown>,
    after: () => Promise<unknown>,
    callers: number,
  ): Promise<readonly [number, number]> {
    const times: [number[], number[]] = [[], []];
    for (let round = 0; round < rounds; round++) {
      times[0].push(await time(before, callers));
      times[1].push(await time(after, callers));
    }
    return [median(times[0]), median(times[1])];
  }
  for (const callers of [1, 50]) {
    const [a, s] = await interleaved(read.alone, read.scoped, callers);
    process.stdout.write(
      `connection read, ${callers} caller(s): alone ${a.toFixed(1)} us/op, tenant transaction ${s.toFixed(1)} us/op, ` +
        `+${(s - a).toFixed(1)} us (${(s / a).toFixed(2)}x)\n`,
    );
  }
  for (const callers of [1, 50]) {
    const [t, o] = await interleaved(transactionRead.two, transactionRead.one, callers);
    process.stdout.write(
      `connection read in a tenant transaction, ${callers} caller(s): one round trip ${o.toFixed(1)} us/op, ` +
        `two round trips ${t.toFixed(1)} us/op (one/two ${(o / t).toFixed(2)}x)\n`,
    );
  }
  const appends: number[] = [];
  for (let round = 0; round < rounds; round++) {
    appends.push(await time(() => store.audit.appendBatch('bench', [record()], seal), 1));
  }
  process.stdout.write(
    `audit append of one record in its tenant transaction, 1 caller: ${median(appends).toFixed(1)} us/op\n`,
  );
  await sql`select 1`.execute(plain);
  await plain.destroy();
  await tenantDb.destroy();
} finally {
  await store.close();
  await roles.drop();
}
