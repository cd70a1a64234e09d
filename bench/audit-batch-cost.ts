/**
 * CPU of one audit record by the size of the batch it is committed in (issue 17, S13): the audit log writes one
 * transaction per tenant per event-loop turn, so its cost per call depends on how many calls end in the same turn,
 * which falls with the arrival rate (an SDK client's calls arrive more spread out than autocannon's). Appends
 * batches of 1, 2, 4, 8 and 16 records through the SQLite store's `appendBatch` (the audit log's own path, chain
 * hash included) on a fresh file, the sizes interleaved over 3 rounds, and prints the median CPU per record (user
 * and system, from `process.cpuUsage`: it moves far less than wall time on a shared machine) and its ratio to
 * batches of 16. The fixed cost of a transaction is about (cost at 1) - (cost at 16).
 * Run: npx tsx bench/audit-batch-cost.ts [records per size and round]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealAuditRecord } from '../src/audit/seal-audit-record.ts';
import { createId } from '../src/core/index.ts';
import type { AuditRecord } from '../src/store/index.ts';
import { openStore } from '../src/store/index.ts';
import { median } from './percentile.ts';

const records = Number(process.argv[2] ?? 4_000);
const sizes = [1, 2, 4, 8, 16];
const dir = mkdtempSync(join(tmpdir(), 'gh-audit-batch-'));

/** A tool-call record as the gateway writes it for S2's call. */
const record = (): AuditRecord => ({
  tenantId: 'bench',
  id: createId(12),
  at: Date.now(),
  requestId: createId(9),
  kind: 'tool_call',
  event: null,
  toolset: 'api',
  clientKey: 'bench',
  subject: '',
  tool: 'upstream_getItem',
  method: 'GET',
  pathTemplate: '/items/{id}',
  decision: 'allow',
  code: null,
  upstreamStatus: 200,
  latencyMs: 0.731,
  detail: null,
  target: null,
  fingerprint: null,
});

const store = await openStore(`sqlite:${join(dir, 'audit.db')}`);
try {
  await store.migrate();
  // Warm-up: the statements prepared, the chain head in place, the code compiled.
  for (let i = 0; i < 500; i++) await store.audit.appendBatch('bench', [record()], sealAuditRecord);
  const cpu = new Map<number, { user: number[]; system: number[] }>(sizes.map((s) => [s, { user: [], system: [] }]));
  for (let round = 0; round < 3; round++) {
    // The order turns each round, so no size is always measured on a warmer file.
    for (const size of sizes.map((_, i) => sizes[(i + round) % sizes.length] as number)) {
      const started = process.cpuUsage();
      for (let i = 0; i < records / size; i++) {
        await store.audit.appendBatch('bench', Array.from({ length: size }, record), sealAuditRecord);
      }
      const used = process.cpuUsage(started);
      cpu.get(size)?.user.push(used.user / records);
      cpu.get(size)?.system.push(used.system / records);
    }
  }
  const total = (size: number) => {
    const of = cpu.get(size) ?? { user: [], system: [] };
    return {
      user: median(of.user),
      system: median(of.system),
      all: median(of.user.map((u, i) => u + (of.system[i] ?? 0))),
    };
  };
  const largest = total(sizes.at(-1) as number).all;
  console.log(`SQLite, ${records} records per size and round, median of 3 rounds, CPU per record:`);
  for (const size of sizes) {
    const { user, system, all } = total(size);
    console.log(
      `  batch ${String(size).padStart(2)}: ${all.toFixed(1).padStart(6)} us (user ${user.toFixed(1)}, system ` +
        `${system.toFixed(1)}) x${(all / largest).toFixed(2)} of batch ${sizes.at(-1)}`,
    );
  }
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
