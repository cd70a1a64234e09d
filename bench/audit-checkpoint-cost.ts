/**
 * Cost of the audit chain's signed checkpoints on the append path (issue 17): the same workload through the
 * batched audit log without checkpoints (no vault: no checkpoint key) and with them (a real vault; one MAC and one
 * insert per checkpoint), and with a checkpoint after every batch (checkpointEvery 1) to show why they are not per
 * record. Runs alternate A/B/C three times on fresh SQLite files (and PostgreSQL schemas when
 * GATEHOUSE_TEST_POSTGRES is set); reports the median records/s of each and its ratio to the first.
 * Run: npx tsx bench/audit-checkpoint-cost.ts [records] [concurrent callers]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLog } from '../src/audit/index.ts';
import { systemClock } from '../src/core/index.ts';
import { createTestSchemaName, openStore } from '../src/store/index.ts';
import { createVault, loadMasterKeys } from '../src/vault/index.ts';

const total = Number(process.argv[2] ?? 20_000);
const callers = Number(process.argv[3] ?? 64);
const dir = mkdtempSync(join(tmpdir(), 'gh-checkpoint-'));
const pgUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const masterKey = randomBytes(32).toString('base64');

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

type Variant = 'no checkpoints' | 'checkpoints (default)' | 'checkpoint every batch';
const variants: Variant[] = ['no checkpoints', 'checkpoints (default)', 'checkpoint every batch'];

async function run(dialect: 'sqlite' | 'postgres', variant: Variant, round: number) {
  const store =
    dialect === 'sqlite'
      ? await openStore(`sqlite:${join(dir, `${variant.replaceAll(' ', '-')}-${round}.db`)}`)
      : await openStore(pgUrl ?? '', { schema: createTestSchemaName(), dropSchemaOnClose: true });
  try {
    await store.migrate();
    const vault = createVault({
      dataKeys: store.dataKeys,
      masterKeys: loadMasterKeys({ mode: 'development', masterKey, dataDir: dir, warn: () => undefined }),
      clock: systemClock,
    });
    const audit = await createAuditLog({
      repository: store.audit,
      clock: systemClock,
      tenants: ['bench'],
      ...(variant === 'no checkpoints' ? {} : { keys: vault }),
      ...(variant === 'checkpoint every batch' ? { checkpointEvery: 1 } : {}),
    });
    for (let i = 0; i < 500; i++) await audit.recordToolCall(entry(i));
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (next < total) await audit.recordToolCall(entry(next++));
      }),
    );
    const perSecond = total / ((performance.now() - started) / 1000);
    // Sequential: one awaited record at a time (each its own batch), as one request alone would see it.
    const sequential = 2_000;
    const t0 = performance.now();
    for (let i = 0; i < sequential; i++) await audit.recordToolCall(entry(i));
    const perRecordUs = ((performance.now() - t0) / sequential) * 1000;
    await audit.close();
    const checkpoints = (await store.audit.listCheckpoints('bench', 0)).length;
    return { perSecond, perRecordUs, checkpoints };
  } finally {
    await store.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
for (const dialect of pgUrl ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const)) {
  const results = new Map<Variant, { perSecond: number[]; perRecordUs: number[]; checkpoints: number }>();
  for (let round = 0; round < 3; round++) {
    for (const variant of variants) {
      const r = await run(dialect, variant, round);
      const entryOf = results.get(variant) ?? { perSecond: [], perRecordUs: [], checkpoints: 0 };
      entryOf.perSecond.push(r.perSecond);
      entryOf.perRecordUs.push(r.perRecordUs);
      entryOf.checkpoints = r.checkpoints;
      results.set(variant, entryOf);
    }
  }
  const base = results.get('no checkpoints');
  console.log(`\n${dialect}: ${total} records from ${callers} callers, then 2,000 sequential (median of 3)`);
  for (const [variant, r] of results) {
    const rate = median(r.perSecond);
    const us = median(r.perRecordUs);
    console.log(
      `  ${variant.padEnd(24)} ${Math.round(rate).toString().padStart(7)} records/s (x${(rate / median(base?.perSecond ?? [rate])).toFixed(2)})` +
        `  sequential ${us.toFixed(1).padStart(6)} us/record (x${(us / median(base?.perRecordUs ?? [us])).toFixed(2)})` +
        `  checkpoints ${r.checkpoints}`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
