/**
 * S18 (issue 14): console pages render in <= 50 ms server time with 100,000 audit records and 1,000 tools. One
 * gateway on SQLite (the default store) serves a tenant whose one service has 1,000 operations (so 1,000 tools,
 * all in one toolset); its audit log holds `records` chained tool-call records over the last 14 days, spread over
 * the 1,000 tools (and the daily usage rollup counts them, as the gateway's telemetry does). A signed-in owner then loads the overview (its charts aggregate every record of the 14 days),
 * the audit page, and the audit page filtered by one tool, `rounds` times each after a warm-up; the figure is the
 * time from request to the last byte on 127.0.0.1 (so a little more than the server's own time), p50 and p95.
 *
 *   npx tsx bench/s18-console.ts [--records 100000] [--rounds 20]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAuditLog, createUsageRollup } from '../src/audit/index.ts';
import { parseConfig } from '../src/core/index.ts';
import { openAdapters } from '../src/open-adapters.ts';
import { openStore } from '../src/store/index.ts';
import { startGatehouse } from '../src/wiring/index.ts';
import { percentile } from './percentile.ts';
import type { ReportRow } from './report.ts';

const tools = 1_000;
const dayMs = 86_400_000;
const targetMs = 50;

export interface S18Page {
  readonly page: string;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly bytes: number;
}

export interface S18Result {
  readonly records: number;
  readonly tools: number;
  readonly seedSeconds: number;
  readonly pages: readonly S18Page[];
}

export async function runS18(records = 100_000, rounds = 20): Promise<S18Result> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-s18-'));
  try {
    const description = join(dir, 'wide.openapi.json');
    writeFileSync(description, JSON.stringify(wideDescription(tools)));
    const store = `sqlite:${join(dir, 'gatehouse.db')}`;

    // The log first, with a clock spreading the records over the last 14 days (newest last, as they would come).
    const seedStarted = performance.now();
    const now = Date.now();
    const seeding = await openStore(store);
    await seeding.migrate();
    let written = 0;
    const clock = {
      now: () => now - 14 * dayMs + Math.floor((written / records) * 14 * dayMs),
      monotonic: () => performance.now(),
    };
    const audit = await createAuditLog({ repository: seeding.audit, clock, tenants: ['bench'] });
    // The daily usage rollup counts the same calls, as the gateway's telemetry does for every call it records.
    const usage = createUsageRollup({ repository: seeding.usage, clock, maxPendingRows: 5_000 });
    while (written < records) {
      const burst = Math.min(500, records - written);
      await Promise.all(
        Array.from({ length: burst }, (_, i) => {
          const n = written + i;
          const entry = {
            tenant: 'bench',
            requestId: `r${n}`,
            toolset: 'all',
            clientKey: 'agent',
            subject: `user${n % 50}`,
            tool: `wide_op${n % tools}`,
            method: 'GET',
            pathTemplate: `/op${n % tools}`,
            decision: n % 50 === 0 ? 'deny' : n % 31 === 0 ? 'error' : 'allow',
            code: n % 50 === 0 ? 'tool_not_allowed' : n % 31 === 0 ? 'upstream_failed' : null,
            upstreamStatus: n % 50 === 0 ? null : n % 31 === 0 ? 502 : 200,
            latencyMs: 5 + (n % 200),
          } as const;
          usage.record(entry);
          return audit.recordToolCall(entry);
        }),
      );
      written += burst;
    }
    await audit.close();
    await usage.close();
    await seeding.close();
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    const config = parseConfig(
      {
        listen: '127.0.0.1:0',
        store,
        dataDir: dir,
        logLevel: 'silent',
        masterKey: randomBytes(32).toString('base64'),
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        tenants: [
          {
            id: 'bench',
            services: [{ id: 'wide', openapi: description, baseUrl: 'http://127.0.0.1:9', auth: { type: 'none' } }],
            toolsets: [{ id: 'all', tools: ['wide_*'], discovery: { mode: 'never' } }],
          },
        ],
      },
      { env: {}, baseDir: dir },
    );
    const adapters = await openAdapters(config, { stderr: { write: () => true } as unknown as NodeJS.WritableStream });
    const server = await startGatehouse(config, adapters);
    try {
      const users = server.gateway.users as NonNullable<typeof server.gateway.users>;
      const password = 'bench-owner-password-0123';
      const created = await users.createUser('bench', { name: 'owner' }, 'operator');
      await users.acceptInvite(created.inviteUrl.split('/invite/')[1] as string, password);
      await users.roles.grantRole('bench', created.user.id, 'owner', 'bench');
      const session = await users.signInWithPassword('bench', 'owner', password, '127.0.0.1');
      const cookie = `gatehouse_session=${session.id}`;
      const pages: S18Page[] = [];
      for (const [page, path] of [
        ['overview', '/console/bench'],
        ['audit', '/console/bench/audit'],
        ['audit ?tool=', '/console/bench/audit?tool=wide_op7'],
      ] as const) {
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < rounds + 3; i++) {
          const started = performance.now();
          const answer = await fetch(`${server.url}${path}`, { headers: { cookie } });
          const body = await answer.text();
          const ms = performance.now() - started;
          if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${body.slice(0, 200)}`);
          bytes = body.length;
          if (i >= 3) times.push(ms);
        }
        times.sort((a, b) => a - b);
        pages.push({ page, p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), bytes });
      }
      return { records, tools, seedSeconds, pages };
    } finally {
      await server.close();
      await adapters.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An OpenAPI description with `count` GET operations: the gateway makes each a tool. */
function wideDescription(count: number) {
  const paths: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    paths[`/op${i}`] = {
      get: {
        operationId: `op${i}`,
        summary: `Operation ${i}`,
        parameters: [{ name: 'q', in: 'query', schema: { type: 'string' } }],
        responses: { '200': { description: 'ok' } },
      },
    };
  }
  return { openapi: '3.0.3', info: { title: 'Wide', version: '1' }, paths };
}

export function createS18Rows(s18: S18Result): ReportRow[] {
  return s18.pages.map((page) => ({
    scenario: `S18 console ${page.page}, ${s18.records.toLocaleString('en-US')} records, ${s18.tools} tools`,
    ours: `p50 ${page.p50Ms.toFixed(1)} ms, p95 ${page.p95Ms.toFixed(1)} ms`,
    baseline: '-',
    ratio: '-',
    target: `<= ${targetMs} ms`,
    result: page.p95Ms <= targetMs ? 'pass' : 'fail',
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { records: { type: 'string' }, rounds: { type: 'string' } } });
  const result = await runS18(Number(values.records ?? 100_000), Number(values.rounds ?? 20));
  console.log(`seeded ${result.records} records in ${result.seedSeconds.toFixed(1)} s`);
  for (const row of createS18Rows(result))
    console.log(`${row.scenario}: ${row.ours} (target ${row.target}) ${row.result}`);
}
