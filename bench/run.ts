import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LoadResult, LoadSpec } from './load-spec.ts';
import {
  createReportRows,
  createS4Rows,
  createS13Rows,
  createS15Rows,
  formatLatestMarkdown,
  formatRowsAsText,
} from './report.ts';
import { runLoad } from './run-load.ts';
import { type RoundOptions, runS1, type S1Result } from './s1-latency.ts';
import { createS2FleetRows, runS2Fleet, type S2FleetResult } from './s2-fleet.ts';
import { runS2, type S2Result } from './s2-throughput.ts';
import { runS4, type S4Result } from './s4-catalog.ts';
import { runS13, type S13Result } from './s13-sdk-client.ts';
import { runS15, type S15Result } from './s15-config-propagation.ts';
import { createS16Rows, runS16, type S16Result } from './s16-federation.ts';
import { createS18Rows, runS18, type S18Result } from './s18-console.ts';
import { formatSoak, runSoak } from './soak.ts';
import { killChildrenNow, stopChildren } from './spawn-child.ts';
import { startTargets } from './start-targets.ts';
import type { Target } from './target.ts';
import { toolCall } from './tool-call.ts';

/**
 * `npm run bench [-- --quick] [--only S1,S2,S4,S13,S15,S16,S17,S18] [--rounds N]`: scenarios S1 and S2 of docs/BENCHMARKS.md
 * against direct, raw, sdk and gatehouse (with its client key, and as `gatehouse-oauth` with an OAuth access token
 * obtained through its own sign-in and consent pages), measured in one interleaved run, S13 (the same call driven by the
 * official SDK clients, with the peer `@ivotoby/openapi-mcp-server`), and S4 (descriptions to tools in cold
 * processes, against a read+parse baseline), S15 (a configuration change seen by three gateways; needs
 * GATEHOUSE_BENCH_POSTGRES or GATEHOUSE_TEST_POSTGRES, else its row says skipped), S18 (console pages' render time
 * over 100,000 audit records and 1,000 tools). Prints one line per gated figure, writes the
 * full results to bench/results/<timestamp>.json and a short table to bench/LATEST.md. Every process it starts
 * is stopped on exit, error, Ctrl-C or the overall time limit. A measurement, not a test: the exit code is 0
 * whatever the figures, non-zero only when the harness itself failed.
 *
 * `npm run bench -- --only S2fleet` (not part of a default run) measures S2 on PostgreSQL + Redis, one gateway process
 * against three (bench/s2-fleet.ts; needs GATEHOUSE_BENCH_POSTGRES or GATEHOUSE_TEST_POSTGRES and redis-server).
 *
 * `npm run bench -- --soak [--soak-minutes 30]` runs only the soak (bench/soak.ts: memory and fd slopes, p99 per
 * minute under constant load with OAuth refreshes) and writes bench/results/soak-<timestamp>.json.
 */

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const scenarioIds = ['S1', 'S2', 'S4', 'S13', 'S15', 'S16', 'S17', 'S18'] as const;
/** Scenarios run only when `--only` names them. */
const optInScenarioIds = ['S2FLEET'] as const;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    soak: { type: 'boolean', default: false },
    'soak-minutes': { type: 'string', default: '30' },
  },
});
const soakMinutes = Number(args['soak-minutes']);
if (!(soakMinutes > 0 && soakMinutes <= 24 * 60)) throw new Error('--soak-minutes expects 1 to 1440');
const overallLimitMs = (args.soak ? soakMinutes + 10 : 30) * 60_000;
const only = args.only ? args.only.toUpperCase().split(',') : [...scenarioIds];
for (const id of only) {
  if (![...scenarioIds, ...optInScenarioIds].includes(id as never)) throw new Error(`unknown scenario ${id}`);
}
const rounds = args.rounds === undefined ? 3 : Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('--rounds expects 1 to 20');

const settings = args.quick
  ? {
      warmSec: 1,
      s1: { rounds, warmupSec: 0.5, durationSec: 3, jitWarmSec: 2 },
      s2: { rounds, warmupSec: 1, durationSec: 2 },
      s2fleet: { rounds, warmupSec: 1, durationSec: 2, connections: [16, 64] },
      s13: { rounds, warmupSec: 1, durationSec: 2 },
      s16: { rounds, warmupSec: 0.5, durationSec: 3, jitWarmSec: 2 },
    }
  : {
      warmSec: 3,
      s1: { rounds, warmupSec: 1, durationSec: 10, jitWarmSec: 20 },
      s2: { rounds, warmupSec: 1.5, durationSec: 5 },
      // From below one process's saturation to well past three's (S2 itself uses 50).
      s2fleet: { rounds, warmupSec: 1.5, durationSec: 5, connections: [4, 16, 48, 96] },
      s13: { rounds, warmupSec: 1.5, durationSec: 5 },
      s16: { rounds, warmupSec: 1, durationSec: 10, jitWarmSec: 20 },
    };

let cleanup = (): void | Promise<void> => {};
let stopping = false;
const shutdown = async (code: number): Promise<never> => {
  stopping = true;
  await stopChildren();
  await cleanup();
  process.exit(code);
};
process.on('SIGINT', () => {
  process.stderr.write('bench: interrupted, stopping child processes\n');
  void shutdown(130);
});
process.on('SIGTERM', () => void shutdown(143));
process.on('exit', killChildrenNow);
setTimeout(() => {
  process.stderr.write(`bench: overall limit of ${overallLimitMs / 60_000} minutes reached, stopping\n`);
  void shutdown(1);
}, overallLimitMs).unref();

const load = (
  target: Target,
  spec: Omit<LoadSpec, 'url' | 'method' | 'headers' | 'body' | 'expectText'>,
  onMeasure?: () => void,
): Promise<LoadResult> =>
  runLoad(
    repoRoot,
    {
      url: target.url,
      method: target.method,
      headers: target.headers,
      body: target.body,
      expectText: toolCall.itemId,
      ...spec,
    },
    onMeasure,
  );

/** Defined before the run starts: the run's last step reads it (a const below the top-level await is not yet set). */
const handWrittenMarker = '<!-- hand-written sections: npm run bench keeps everything below this line -->';

try {
  if (args.soak) await soak();
  else await scenarios();
} catch (error) {
  // A load process killed by Ctrl-C ends its run with an error; that is not a harness failure worth a stack.
  if (!stopping) process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await stopChildren();
  await cleanup();
}

async function soak(): Promise<void> {
  const date = new Date().toISOString();
  const result = await runSoak({ minutes: soakMinutes, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${formatSoak(result)}\n`);
  const resultsDir = join(repoRoot, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsPath = join(resultsDir, `soak-${date.replaceAll(':', '-')}.json`);
  const meta = { date, commit: readCommit(), node: process.versions.node, cpus: cpus().length, loadavg: loadavg() };
  writeFileSync(resultsPath, `${JSON.stringify({ ...meta, result }, null, 2)}\n`);
  process.stdout.write(`results: ${resultsPath}\n`);
}

async function scenarios(): Promise<void> {
  const startedAt = new Date();
  const meta = {
    date: startedAt.toISOString(),
    commit: readCommit(),
    mode: args.quick ? 'quick' : 'full',
    node: process.versions.node,
    cpus: cpus().length,
    loadavg: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
  process.stderr.write(`bench: ${meta.mode} run of ${only.join(', ')}, ${rounds} rounds, commit ${meta.commit}\n`);
  // S4 first, on a machine not yet loaded by the servers the other scenarios start.
  let s4: S4Result | undefined;
  const cold = (['S4', 'S17'] as const).filter((id) => only.includes(id));
  if (cold.length > 0) {
    process.stderr.write(`  ${cold.join(', ')}: cold processes converting descriptions\n`);
    s4 = runS4(rounds, cold);
  }
  // S15 next, before the load targets start: three gateways on PostgreSQL following 100 configuration changes.
  let s15: S15Result | undefined;
  if (only.includes('S15')) {
    process.stderr.write('  S15: a configuration change seen by three gateways (PostgreSQL)\n');
    s15 = await runS15(args.quick ? 20 : 100);
  }
  // S18 too: one gateway rendering console pages over 100,000 audit records and 1,000 tools.
  let s18: S18Result | undefined;
  if (only.includes('S18')) {
    process.stderr.write('  S18: console pages over 100,000 audit records and 1,000 tools\n');
    s18 = await runS18(100_000, args.quick ? 10 : 20);
  }
  // S2fleet next, alone on the machine: its gateways, PostgreSQL database and Redis are stopped before the others start.
  let s2fleet: S2FleetResult | undefined;
  if (only.includes('S2FLEET')) {
    process.stderr.write('  S2fleet: S2 on PostgreSQL + Redis, 1 gateway process against 3\n');
    const ran = await runS2Fleet(repoRoot, settings.s2fleet, load, (line) => process.stderr.write(`${line}\n`));
    await stopChildren();
    await ran.cleanup();
    s2fleet = ran.result;
  }
  const needsTargets = only.includes('S1') || only.includes('S2') || only.includes('S13') || only.includes('S16');
  const started = needsTargets
    ? await startTargets(repoRoot, { peer: only.includes('S13') })
    : { targets: [], cleanup: () => {} };
  cleanup = started.cleanup;
  const { targets } = started;
  // The peer answers only a real MCP client: S13 drives it, autocannon (S1, S2) cannot.
  const loadTargets = targets.filter((target) => target.name !== 'peer');
  for (const target of targets) {
    process.stderr.write(
      `  ${target.name}: ${target.unavailable ? `not available (${target.unavailable})` : target.url}` +
        `${target.note ? ` (${target.note})` : ''}\n`,
    );
  }

  // One closed-loop pass per target first, so JIT and connection pools are warm before any round counts.
  for (const target of loadTargets) {
    if (!target.unavailable)
      await load(target, { mode: 'closed', connections: 50, warmupSec: 0, durationSec: settings.warmSec });
  }

  let s1: S1Result | undefined;
  let s2: S2Result | undefined;
  let s13: S13Result | undefined;
  if (only.includes('S1')) s1 = await runS1(loadTargets, settings.s1 satisfies RoundOptions, load);
  if (only.includes('S2')) s2 = await runS2(loadTargets, settings.s2, load);
  if (only.includes('S13')) {
    s13 = await runS13(targets, settings.s13, (spec, onMeasure) => runLoad(repoRoot, spec, onMeasure));
  }
  let s16: S16Result | undefined;
  if (only.includes('S16')) {
    process.stderr.write('  S16: a federated remote MCP tools/call against the remote server\n');
    const ran = await runS16(repoRoot, loadTargets, settings.s16, load);
    const previous = cleanup;
    cleanup = () => {
      ran.cleanup();
      previous();
    };
    s16 = ran.result;
  }

  const rows = [
    ...(only.includes('S1') || only.includes('S2') ? createReportRows(loadTargets, s1, s2) : []),
    ...(s13 ? createS13Rows(targets, s13, s2) : []),
    ...(s4 ? createS4Rows(s4) : []),
    ...(s15 ? createS15Rows(s15) : []),
    ...(s2fleet ? createS2FleetRows(s2fleet) : []),
    ...(s16 ? createS16Rows(s16) : []),
    ...(s18 ? createS18Rows(s18) : []),
  ];
  process.stdout.write(`\n${formatRowsAsText(rows)}\n`);

  const results = {
    ...meta,
    finishedAt: new Date().toISOString(),
    settings,
    targets: targets.map(({ name, url, unavailable, note }) => ({ name, url, unavailable, note })),
    rows,
    s1,
    s2,
    s4,
    s13,
    s15,
    s2fleet,
    s16,
    s18,
  };
  const resultsDir = join(repoRoot, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsPath = join(resultsDir, `${meta.date.replaceAll(':', '-')}.json`);
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  const table = formatLatestMarkdown({ rows, targets, s1, s2, s13, meta });
  // A run of some scenarios (`--only`) would replace the whole table of the last full run with its few rows: its
  // table goes next to its results instead, and bench/LATEST.md keeps the full run.
  if (args.only !== undefined) {
    const tablePath = resultsPath.replace(/\.json$/, '.md');
    writeFileSync(tablePath, table);
    process.stdout.write(`\nresults: ${resultsPath}\nsummary: ${tablePath} (--only: bench/LATEST.md unchanged)\n`);
    return;
  }
  const latestPath = join(repoRoot, 'bench/LATEST.md');
  writeFileSync(latestPath, table + handWrittenSectionsOf(latestPath));
  process.stdout.write(`\nresults: ${resultsPath}\nsummary: bench/LATEST.md\n`);
}

/**
 * Everything of `bench/LATEST.md` from `handWrittenMarker` on: figures written by hand (A/B runs, held-out search,
 * S8) that a new generated table must not delete.
 */
function handWrittenSectionsOf(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return '';
  }
  const at = text.indexOf(handWrittenMarker);
  return at === -1 ? `\n${handWrittenMarker}\n` : `\n${text.slice(at)}`;
}

function readCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
