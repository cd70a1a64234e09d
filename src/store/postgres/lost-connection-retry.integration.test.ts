import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchemaName } from '../create-test-schema-name.ts';
import { toolCallAuditRecord } from '../fixtures/tool-call-audit-record.ts';
import { openStore } from '../open-store.ts';
import type { AuditSeal, Store } from '../port.ts';

/**
 * Issue 13, "PostgreSQL backends killed": a store operation whose connection the server ended (pg_terminate_backend,
 * what a restart does to every pooled connection) is a read that can simply run again on a fresh connection, or a
 * write that must not run twice. The connection is held in a known state by an admin session that locks the table
 * the operation needs (ACCESS EXCLUSIVE blocks even a plain select), so the termination always lands mid-query.
 */
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const seal: AuditSeal = (record, prevHash) => createHash('sha256').update(`${prevHash}|${record.seq}`).digest('hex');
const lockOptions = (owner: string) => ({ owner, leaseMs: 15_000, waitMs: 10_000, now: () => Date.now() });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(postgresUrl === undefined)('a store operation on a connection the server ended (postgres)', () => {
  const schema = createTestSchemaName();
  let admin: pg.Client;
  let store: Store;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    store = await openStore(postgresUrl ?? '', { schema, dropSchemaOnClose: true });
    await store.migrate();
    await store.tenants.ensure('acme', 1);
    await store.connections.upsert({
      tenantId: 'acme',
      id: 'c1',
      service: 'svc',
      subject: 'alice',
      status: 'active',
      scopes: ['read'],
      accessToken: new Uint8Array([1]),
      refreshToken: new Uint8Array([2]),
      accessExpiresAt: null,
      createdAt: 1,
    });
  });

  afterAll(async () => {
    await store?.close();
    await admin?.end();
  });

  /** Backends of this process's store that are waiting for `table`'s lock (the operation under test). */
  async function waitingOn(table: string): Promise<number[]> {
    const { rows } = await admin.query<{ pid: number }>(
      `select pid from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock' and query ilike $2`,
      [`gatehouse/${process.pid}`, `%${table}%`],
    );
    return rows.map((row) => row.pid);
  }

  /**
   * Starts `operation` while `table` is locked, terminates the backend it waits on, then lets the table go.
   * Returns the operation's outcome and how many backends were terminated.
   */
  async function terminatedMidQuery<T>(
    table: string,
    operation: () => Promise<T>,
  ): Promise<{ outcome: PromiseSettledResult<T>; terminated: number }> {
    await admin.query('begin');
    await admin.query(`lock table "${schema}".${table} in access exclusive mode`);
    const running = operation();
    void running.catch(() => undefined);
    let pids: number[] = [];
    for (let i = 0; i < 200 && pids.length === 0; i++) {
      await sleep(25);
      pids = await waitingOn(table);
    }
    for (const pid of pids) await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.query('commit');
    const [outcome] = await Promise.allSettled([running]);
    return { outcome: outcome as PromiseSettledResult<T>, terminated: pids.length };
  }

  it('a read whose connection was terminated mid-query is run once more on a fresh connection and answers', async () => {
    const { outcome, terminated } = await terminatedMidQuery('connections', () => store.connections.get('acme', 'c1'));
    expect(terminated).toBe(1);
    expect(outcome.status).toBe('fulfilled');
    expect(outcome.status === 'fulfilled' ? outcome.value?.subject : undefined).toBe('alice');
  });

  it('the reads of alert deliveries and service descriptions are retried on a fresh connection too (they ran once with run)', async () => {
    await store.serviceDescriptions.put('acme', {
      digest: 'd1',
      text: 'openapi: 3.1.0',
      source: 'upload',
      at: 1,
      actor: 'test',
    });
    const description = await terminatedMidQuery('service_descriptions', () =>
      store.serviceDescriptions.get('acme', 'd1'),
    );
    expect(description.terminated).toBe(1);
    expect(
      description.outcome.status === 'fulfilled' ? description.outcome.value?.source : description.outcome.reason,
    ).toBe('upload');

    await store.alertDeliveries.record('acme', {
      alertId: 'al1',
      rule: 'error_rate',
      about: 'toolset all',
      summary: 'errors',
      observed: 5,
      threshold: 3,
      raisedAt: 1,
      outcome: 'logged',
    });
    const recent = await terminatedMidQuery('alert_deliveries', () => store.alertDeliveries.recent('acme', 10));
    expect(recent.terminated).toBe(1);
    expect(
      recent.outcome.status === 'fulfilled' ? recent.outcome.value.map((a) => a.alertId) : recent.outcome.reason,
    ).toEqual(['al1']);
  });

  it('a write whose connection was lost before commit runs once more and is written once (fleet suite, postgres phase: an OAuth call failed with store_unavailable)', async () => {
    // PostgreSQL runs every operation in a transaction: lost before `commit`, it was rolled back, nothing was written.
    const record = toolCallAuditRecord('acme', 'lost-append');
    const { outcome, terminated } = await terminatedMidQuery('audit_heads', () =>
      store.audit.appendBatch('acme', [record], seal),
    );
    expect(terminated).toBe(1);
    expect(outcome.status === 'rejected' ? outcome.reason : outcome.status).toBe('fulfilled');
    const written = await store.audit.query({ tenantId: 'acme', limit: 100 });
    expect(written.filter((row) => row.requestId === record.requestId)).toHaveLength(1);
  });

  it('the refresh lock whose connection was lost while it waited for the row is taken on a fresh connection', async () => {
    let holders = 0;
    const { outcome, terminated } = await terminatedMidQuery('connections', () =>
      store.connections.withRefreshLock('acme', 'c1', lockOptions('lost-wait'), async (locked) => {
        holders += 1;
        return locked.record?.subject;
      }),
    );
    expect(terminated).toBe(1);
    expect(outcome.status === 'rejected' ? outcome.reason : outcome.value).toBe('alice');
    expect(holders).toBe(1);
  });

  it('the refresh lock whose connection was lost while its holder ran is not taken again: the holder may have redeemed a token', async () => {
    let holders = 0;
    const outcome = await store.connections
      .withRefreshLock('acme', 'c1', lockOptions('lost-holding'), async (locked) => {
        holders += 1;
        const { rows } = await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity where application_name = $1 and state = 'idle in transaction'`,
          [`gatehouse/${process.pid}`],
        );
        for (const { pid } of rows) await admin.query('select pg_terminate_backend($1)', [pid]);
        expect(rows).toHaveLength(1);
        return locked.connections.get('acme', 'c1');
      })
      .then(
        () => 'fulfilled',
        (error: { code?: string }) => error.code,
      );
    expect(outcome).toBe('store_unavailable');
    expect(holders).toBe(1);
  });
});
