import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { redactStoreUrl } from '../src/store/index.ts';
import { createFleetDatabase, type FleetDatabase, startPrivateRedis } from '../test/support/start-fleet.ts';
import { createClientKey, startGatehouse } from './gatehouse-target.ts';
import type { LoadResult, LoadSpec } from './load-spec.ts';
import { median } from './percentile.ts';
import { readProcessCpuMs } from './proc-cpu.ts';
import type { ReportRow } from './report.ts';
import type { RoundOptions } from './s1-latency.ts';
import { startFakeUpstream } from './start-targets.ts';
import type { Target } from './target.ts';
import { checkToolCall } from './tool-call.ts';

/** How many gateway processes take the load in a run: one alone, or the fleet of three. */
export type FleetSize = 1 | 3;

export type S2FleetRun = LoadResult & {
  processes: FleetSize;
  connections: number;
  /** CPU of the gateway processes that took the load, summed, per answered request (ms; Linux only). */
  serverCpuMsPerRequest?: number;
  /** The machine's 1-minute load average when the run ended. */
  loadavg1: number;
};

export type S2FleetLevel = {
  connections: number;
  /** Median over rounds of req/s and of CPU per request, per fleet size; failures summed. */
  one: { rps: number; serverCpuMsPerRequest?: number; failed: number };
  three: { rps: number; serverCpuMsPerRequest?: number; failed: number };
  /** three.rps / one.rps */
  ratio: number;
};

export type S2FleetResult =
  | { skipped: string }
  | {
      options: RoundOptions;
      runs: S2FleetRun[];
      levels: S2FleetLevel[];
      /** Per fleet size, the fewest connections giving at least 95% of its best median req/s. */
      saturatesAt: { one: number; three: number };
      loadavg1: { min: number; max: number };
    };

/**
 * S2 on a fleet (issue 13): S2's closed-loop `tools/call` against gateways on one PostgreSQL store and one Redis
 * (every call's audit record goes to PostgreSQL; the toolset's rate limit, set too high to refuse anything, is
 * counted in Redis on every call), one process taking all the load against three processes sharing it (the load
 * generator spreads its connections evenly over the three ports: no balancer process competes for the CPU), on the
 * same machine, at several connection counts to show where each saturates. Runs are interleaved (each round visits
 * every level, one and three processes in alternating order); the figure is the ratio of median req/s. Each
 * gateway is the product as shipped (`gatehouse serve`, built with tsc), the store a fresh database on the
 * PostgreSQL server of GATEHOUSE_BENCH_POSTGRES (or GATEHOUSE_TEST_POSTGRES), Redis a `redis-server` of its own.
 */
export async function runS2Fleet(
  repoRoot: string,
  options: RoundOptions & { connections: readonly number[] },
  load: (
    target: Target,
    spec: Omit<LoadSpec, 'url' | 'method' | 'headers' | 'body' | 'expectText'>,
    onMeasure: () => void,
  ) => Promise<LoadResult>,
  log: (line: string) => void,
): Promise<{ result: S2FleetResult; cleanup: () => Promise<void> }> {
  const postgresUrl = process.env['GATEHOUSE_BENCH_POSTGRES'] ?? process.env['GATEHOUSE_TEST_POSTGRES'];
  const none = async () => {};
  if (postgresUrl === undefined) {
    return { result: { skipped: 'set GATEHOUSE_BENCH_POSTGRES (or GATEHOUSE_TEST_POSTGRES)' }, cleanup: none };
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    return { result: { skipped: 'redis-server is not installed' }, cleanup: none };
  }
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await Promise.resolve(step()).catch(() => undefined);
  };
  try {
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const database: FleetDatabase = await createFleetDatabase(postgresUrl);
    cleanups.push(() => database.drop());
    const upstream = await startFakeUpstream(repoRoot);
    const clientKey = createClientKey();
    const masterKey = randomBytes(32).toString('base64');
    const shared = { store: database.url, redis: redis.url };
    // One at a time: the first migrates the fresh database, the others find it migrated.
    const gateways: Target[] = [];
    for (let i = 0; i < 3; i++) {
      const started = await startGatehouse(repoRoot, upstream, [], shared, {
        clientKey,
        masterKey,
        oauth: false,
        // Never reached (1,000,000 a minute), but counted in Redis on every call, as a fleet's limits are.
        toolset: { rateLimit: { perMinute: 1_000_000 } },
      });
      cleanups.push(started.cleanup);
      if (started.target.unavailable) throw new Error(`gateway ${i + 1}: ${started.target.unavailable}`);
      await checkToolCall(started.target);
      gateways.push(started.target);
    }
    log(
      `  S2fleet: 3 gateways on ${redactStoreUrl(database.url)} and ${redis.url}: ${gateways.map((g) => g.url).join(' ')}`,
    );
    const [first] = gateways as [Target];

    const runs: S2FleetRun[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const order: FleetSize[] = round % 2 === 0 ? [1, 3] : [3, 1];
      for (const connections of options.connections) {
        for (const processes of order) {
          const loaded = processes === 1 ? [first] : gateways;
          const cpuOf = () => loaded.map((g) => readProcessCpuMs(g.pid));
          let before: (number | undefined)[] = [];
          const result = await load(
            first,
            {
              mode: 'closed',
              connections,
              warmupSec: options.warmupSec,
              durationSec: options.durationSec,
              ...(processes === 3 ? { urls: gateways.map((g) => g.url) } : {}),
            },
            () => {
              before = cpuOf();
            },
          );
          const after = cpuOf();
          const spent = after.reduce<number | undefined>(
            (sum, ms, i) =>
              sum === undefined || ms === undefined || before[i] === undefined
                ? undefined
                : sum + ms - (before[i] as number),
            0,
          );
          const run: S2FleetRun = {
            ...result,
            processes,
            connections,
            ...(spent !== undefined && result.ok > 0 ? { serverCpuMsPerRequest: spent / result.ok } : {}),
            loadavg1: loadavg()[0] ?? Number.NaN,
          };
          runs.push(run);
          log(
            `  S2fleet round ${round + 1}/${options.rounds}, ${connections} conns, ${processes} process${processes === 1 ? '' : 'es'}: ` +
              `${Math.round(run.rps)} req/s, failed ${run.failed}` +
              `${run.serverCpuMsPerRequest === undefined ? '' : `, gateway CPU ${run.serverCpuMsPerRequest.toFixed(3)} ms/req`}` +
              `, load ${run.loadavg1.toFixed(1)}`,
          );
        }
      }
    }
    return { result: summarize(options, runs), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function summarize(options: RoundOptions & { connections: readonly number[] }, runs: S2FleetRun[]): S2FleetResult {
  const of = (connections: number, processes: FleetSize) => {
    const picked = runs.filter((r) => r.connections === connections && r.processes === processes);
    const cpu = picked.map((r) => r.serverCpuMsPerRequest).filter((c): c is number => c !== undefined);
    return {
      rps: median(picked.map((r) => r.rps)),
      ...(cpu.length > 0 ? { serverCpuMsPerRequest: median(cpu) } : {}),
      failed: picked.reduce((sum, r) => sum + r.failed, 0),
    };
  };
  const levels = options.connections.map((connections) => {
    const one = of(connections, 1);
    const three = of(connections, 3);
    return { connections, one, three, ratio: three.rps / one.rps };
  });
  const saturation = (pick: (level: S2FleetLevel) => number) => {
    const best = Math.max(...levels.map(pick));
    return levels.find((level) => pick(level) >= best * 0.95)?.connections ?? Number.NaN;
  };
  const loads = runs.map((r) => r.loadavg1);
  return {
    options: { rounds: options.rounds, warmupSec: options.warmupSec, durationSec: options.durationSec },
    runs,
    levels,
    saturatesAt: { one: saturation((l) => l.one.rps), three: saturation((l) => l.three.rps) },
    loadavg1: { min: Math.min(...loads), max: Math.max(...loads) },
  };
}

/** S2fleet rows: req/s of three processes over one at each connection count (context: no target in the issue). */
export function createS2FleetRows(s2fleet: S2FleetResult): ReportRow[] {
  if ('skipped' in s2fleet) {
    return [
      {
        scenario: 'S2fleet 3 processes / 1, PostgreSQL + Redis',
        ours: `skipped: ${s2fleet.skipped}`,
        baseline: '-',
        ratio: '-',
        target: '-',
        result: 'n/a',
      },
    ];
  }
  const failed = (n: number) => (n > 0 ? ` (${n} failed)` : '');
  const cpu = (ms: number | undefined) => (ms === undefined ? '' : `, ${ms.toFixed(2)} ms CPU/req`);
  return s2fleet.levels.map((level) => ({
    scenario: `S2fleet req/s 3 processes / 1, PostgreSQL + Redis, ${level.connections} conns`,
    ours: `3 processes ${Math.round(level.three.rps)} req/s${cpu(level.three.serverCpuMsPerRequest)}${failed(level.three.failed)}`,
    baseline: `1 process ${Math.round(level.one.rps)} req/s${cpu(level.one.serverCpuMsPerRequest)}${failed(level.one.failed)}`,
    ratio: `${level.ratio.toFixed(2)}x`,
    target: '-',
    result: 'info',
  }));
}
