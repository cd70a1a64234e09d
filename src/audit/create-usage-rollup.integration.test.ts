import { afterAll, describe, expect, it } from 'vitest';
import { createTestSchemaName, openStore, type Store, type UsageRow } from '../store/index.ts';
import type { ToolCallAuditEntry } from './create-audit-log.ts';
import { createUsageRollup } from './create-usage-rollup.ts';

const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const backends = [
  { name: 'sqlite', open: () => openStore('sqlite::memory:') },
  ...(postgresUrl
    ? [
        {
          name: 'postgres',
          open: () => openStore(postgresUrl, { schema: createTestSchemaName(), dropSchemaOnClose: true }),
        },
      ]
    : []),
];

const call = (over: Partial<ToolCallAuditEntry>) =>
  ({
    tenant: 'acme',
    requestId: 'r',
    toolset: 'support',
    clientKey: 'agent',
    subject: 'alice',
    tool: 'pets_listPets',
    method: 'GET',
    pathTemplate: '/pets',
    decision: 'allow',
    code: null,
    upstreamStatus: 200,
    latencyMs: 1,
    ...over,
  }) as ToolCallAuditEntry;

const stores: Store[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
});

describe.each(backends)('usage rollups on $name', ({ open }) => {
  it('counts calls, errors and denials per day, toolset and tool, written in batches that add up', async () => {
    const store = await open();
    stores.push(store);
    await store.migrate();
    let adds = 0;
    const repository = {
      add: (rows: readonly UsageRow[]) => {
        adds++;
        return store.usage.add(rows);
      },
      query: store.usage.query,
    };
    let now = Date.parse('2025-03-01T23:59:00Z');
    const rollup = createUsageRollup({ repository, clock: { now: () => now, monotonic: () => now } });
    for (let i = 0; i < 50; i++) rollup.record(call({}));
    for (let i = 0; i < 3; i++) rollup.record(call({ decision: 'error', code: 'upstream_error' }));
    rollup.record(call({ decision: 'deny', code: 'tool_not_found', tool: 'no_such_tool' }));
    await rollup.flush();
    now = Date.parse('2025-03-02T00:01:00Z');
    for (let i = 0; i < 7; i++) rollup.record(call({ decision: 'deny', code: 'rate_limited' }));
    rollup.record(call({ tenant: 'other' }));
    await rollup.flush();
    now = Date.parse('2025-03-02T10:00:00Z');
    rollup.record(call({}));
    await rollup.close();
    expect(adds).toBe(3);
    expect(await store.usage.query('acme', '2025-03-01', '2025-03-02')).toEqual([
      {
        tenantId: 'acme',
        day: '2025-03-01',
        toolset: 'support',
        tool: '_unknown',
        calls: 1,
        errors: 0,
        denials: 1,
        latencyMsTotal: 1,
      },
      {
        tenantId: 'acme',
        day: '2025-03-01',
        toolset: 'support',
        tool: 'pets_listPets',
        calls: 53,
        errors: 3,
        denials: 0,
        latencyMsTotal: 53,
      },
      {
        tenantId: 'acme',
        day: '2025-03-02',
        toolset: 'support',
        tool: 'pets_listPets',
        calls: 8,
        errors: 0,
        denials: 7,
        latencyMsTotal: 8,
      },
    ]);
    // The console's overview reads the same counts summed per day and per tool by the database.
    expect(await store.usage.summarize('acme', '2025-03-01', '2025-03-02', 1)).toEqual({
      days: [
        { day: '2025-03-01', calls: 54, errors: 3, denials: 1, latencyMsTotal: 54 },
        { day: '2025-03-02', calls: 8, errors: 0, denials: 7, latencyMsTotal: 8 },
      ],
      tools: [{ tool: 'pets_listPets', calls: 61, errors: 3, denials: 7, latencyMsTotal: 61 }],
    });
    expect(await store.usage.query('acme', '2025-03-02', '2025-03-02')).toHaveLength(1);
    expect(await store.usage.query('other', '2025-01-01', '2025-12-31')).toHaveLength(1);
  });

  it('keeps the counts of a failed flush for the next one', async () => {
    const store = await open();
    stores.push(store);
    await store.migrate();
    let fail = true;
    const errors: unknown[] = [];
    const rollup = createUsageRollup({
      repository: {
        add: (rows) => (fail ? Promise.reject(new Error('down')) : store.usage.add(rows)),
      },
      clock: { now: () => Date.parse('2025-05-05T12:00:00Z'), monotonic: () => 0 },
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < 4; i++) rollup.record(call({}));
    await rollup.flush();
    rollup.record(call({}));
    fail = false;
    await rollup.close();
    expect(errors).toHaveLength(1);
    expect((await store.usage.query('acme', '2025-05-05', '2025-05-05'))[0]?.calls).toBe(5);
  });

  it('flushOlderThan writes only once the oldest pending count is that old, so reads do not write on every view', async () => {
    const store = await open();
    stores.push(store);
    await store.migrate();
    let adds = 0;
    let fail = false;
    let now = Date.parse('2025-06-01T12:00:00Z');
    const rollup = createUsageRollup({
      repository: {
        add: (rows) => {
          adds++;
          return fail ? Promise.reject(new Error('down')) : store.usage.add(rows);
        },
      },
      clock: { now: () => now, monotonic: () => now },
      onError: () => {},
    });
    const calls = async () => (await store.usage.query('acme', '2025-06-01', '2025-06-01'))[0]?.calls ?? 0;
    await rollup.flushOlderThan(5_000); // nothing pending: nothing written
    rollup.record(call({}));
    now += 4_999;
    rollup.record(call({}));
    await rollup.flushOlderThan(5_000);
    expect([adds, await calls()]).toEqual([0, 0]);
    now += 1; // the first count is 5 s old now
    await rollup.flushOlderThan(5_000);
    expect([adds, await calls()]).toEqual([1, 2]);
    await rollup.flushOlderThan(5_000); // written: nothing pending
    expect(adds).toBe(1);

    // A failed write keeps the counts as old as they were: the next read writes them again at once.
    rollup.record(call({}));
    now += 5_000;
    fail = true;
    await rollup.flushOlderThan(5_000);
    fail = false;
    rollup.record(call({}));
    await rollup.flushOlderThan(5_000);
    expect([adds, await calls()]).toEqual([3, 4]);
    await rollup.close();
  });
});
