/**
 * S11 audit log: appends per second through the batched, hash-chained audit log (SQLite file, and PostgreSQL
 * when GATEHOUSE_TEST_POSTGRES is set), and the latency one awaited record adds to a request.
 * Run: npx tsx bench/s11-audit.ts [records] [concurrent callers]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createAuditLog, verifyAuditChain } from '../src/audit/index.ts';
import { systemClock } from '../src/core/index.ts';
import { createTestSchemaName, openStore } from '../src/store/index.ts';

const total = Number(process.argv[2] ?? 20_000);
const callers = Number(process.argv[3] ?? 500);
const dir = mkdtempSync(join(tmpdir(), 'gh-s11-'));
const targets: [string, string, { schema?: string; dropSchemaOnClose?: boolean }][] = [
  ['sqlite', `sqlite:${join(dir, 'audit.db')}`, {}],
];
const pgUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
if (pgUrl) targets.push(['postgres', pgUrl, { schema: createTestSchemaName(), dropSchemaOnClose: true }]);

const entry = (i: number) => ({
  tenant: 'bench',
  requestId: `r${i}`,
  toolset: 'support',
  clientKey: 'agent',
  subject: 'alice',
  tool: 'pets_list',
  method: 'GET',
  pathTemplate: '/pets',
  decision: 'allow' as const,
  code: null,
  upstreamStatus: 200,
  latencyMs: 1.234,
});

for (const [name, url, options] of targets) {
  const store = await openStore(url, options);
  await store.migrate();
  const audit = await createAuditLog({ repository: store.audit, clock: systemClock, tenants: ['bench'] });
  for (let i = 0; i < 200; i++) await audit.recordToolCall(entry(i));

  // Sequential: one awaited record at a time, as one request alone would see it.
  const sequential = 1_000;
  let started = performance.now();
  for (let i = 0; i < sequential; i++) await audit.recordToolCall(entry(i));
  const perCall = ((performance.now() - started) / sequential) * 1000;

  // Concurrent: `total` records from `callers` callers at a time.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < total) await audit.recordToolCall(entry(next++));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const report = await verifyAuditChain(store.audit, 'bench');
  console.log(
    `${name}: sequential ${perCall.toFixed(0)} us per awaited record (${Math.round(1e6 / perCall)}/s); ` +
      `concurrent ${Math.round(total / seconds)} records/s; event loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms; ` +
      `chain ok=${report.ok} (${report.checked} records)`,
  );
  await audit.close();
  await store.close();
}
rmSync(dir, { recursive: true, force: true });
