import { startGatehouse } from './gatehouse-target.ts';
import type { LoadResult } from './load-spec.ts';
import { median } from './percentile.ts';
import { readProcessCpuMs } from './proc-cpu.ts';
import type { ReportRow } from './report.ts';
import { type RoundOptions, warmOpenLoop } from './s1-latency.ts';
import { readPort, spawnChild } from './spawn-child.ts';
import type { Target } from './target.ts';
import { checkToolCall } from './tool-call.ts';

/**
 * The systems S16 drives: the remote MCP server itself, a raw relay in front of it (bench/relay-server.ts: the cost
 * of the extra hop alone), Gatehouse federating it, Gatehouse's OpenAPI tool.
 */
const s16Systems = ['remote', 'relay', 'federated', 'openapi'] as const;
type S16System = (typeof s16Systems)[number];

type S16Run = LoadResult & { system: S16System; serverCpuMsPerCall?: number };

export type S16Result =
  | { skipped: string }
  | {
      rate: number;
      options: RoundOptions;
      rounds: S16Run[][];
      /** Median over rounds, per system: p50 (ms), server CPU per answered call (ms), failures summed. */
      summary: Partial<Record<S16System, { p50: number; serverCpuMsPerCall?: number; failed: number }>>;
    };

const rate = 100;

/**
 * The config of a Gatehouse federating the MCP server at `remoteUrl` (S16, and `bench/profile.ts --federated`): one
 * `mcp:` service exposed unprefixed and classed safe, so a `tools/call` body for the remote server works unchanged.
 */
export function federationSettings(remoteUrl: string): (clientKey: string) => Readonly<Record<string, unknown>> {
  return (clientKey) => ({
    tenants: [
      {
        id: 'bench',
        services: [{ id: 'remote', mcp: remoteUrl }],
        toolsets: [
          {
            id: 'api',
            unprefixed: ['remote'],
            access: 'read',
            // The remote tool's hints are not trusted; the operator vouches for this read.
            policy: { safety: { upstream_getItem: 'safe' } },
          },
        ],
        clientKeys: [{ name: 'bench', key: clientKey, toolsets: ['api'] }],
      },
    ],
  });
}

/**
 * S16 (BENCHMARKS.md): a federated remote MCP `tools/call` against calling the remote server directly. The remote
 * server is the `sdk` baseline (the official SDK 1.x server whose `upstream_getItem` calls the fake upstream); a
 * second Gatehouse process federates it (`mcp:` service, exposed unprefixed, classed safe) so the same request body
 * works against both. Open loop at 100 req/s, rounds interleaved (remote, federated, openapi). Figures: the added
 * p50 of the federated call over the direct one, and Gatehouse's server CPU per federated call against its CPU per
 * OpenAPI tool call (the `gatehouse` target, same fake upstream) over the same windows.
 */
export async function runS16(
  repoRoot: string,
  targets: readonly Target[],
  options: RoundOptions,
  load: (
    target: Target,
    spec: { mode: 'open'; rate: number; connections: number } & RoundOptions,
  ) => Promise<LoadResult>,
): Promise<{ result: S16Result; cleanup: () => void }> {
  const remote = targets.find((t) => t.name === 'sdk');
  const openapi = targets.find((t) => t.name === 'gatehouse');
  if (remote === undefined || remote.unavailable || openapi === undefined || openapi.unavailable) {
    return { result: { skipped: 'needs the sdk and gatehouse targets' }, cleanup: () => {} };
  }
  const started = await startGatehouse(repoRoot, { port: 0, key: 'unused' }, [], federationSettings(remote.url));
  if (started.target.unavailable) {
    return { result: { skipped: `federating gatehouse: ${started.target.unavailable}` }, cleanup: started.cleanup };
  }
  const federated: Target = { ...started.target, note: 'federating the sdk target' };
  await checkToolCall(federated);
  const relay = await startRelay(repoRoot, remote);
  await checkToolCall(relay);
  const systems: [S16System, Target][] = [
    ['remote', remote],
    ['relay', relay],
    ['federated', federated],
    ['openapi', openapi],
  ];
  // One unmeasured pass each: sessions, pools and the JIT warm before any round counts (`warmOpenLoop`).
  for (const [, target] of systems) await warmOpenLoop(target, rate, options, load);
  const rounds: S16Run[][] = [];
  for (let round = 0; round < options.rounds; round++) {
    const runs: S16Run[] = [];
    for (const [system, target] of systems) {
      const before = target.pid === undefined ? undefined : readProcessCpuMs(target.pid);
      const result = await load(target, { mode: 'open', rate, connections: 8, ...options });
      const after = target.pid === undefined ? undefined : readProcessCpuMs(target.pid);
      const run: S16Run = { ...result, system };
      // The warm-up is inside the window here: CPU per answered call still compares like with like across systems.
      if (before !== undefined && after !== undefined && result.ok > 0)
        run.serverCpuMsPerCall = (after - before) / result.ok;
      runs.push(run);
      process.stderr.write(
        `  S16 round ${round + 1}/${options.rounds} ${system}: p50 ${result.latency.p50.toFixed(2)} ms, failed ${result.failed}` +
          (run.serverCpuMsPerCall === undefined ? '\n' : `, server CPU ${run.serverCpuMsPerCall.toFixed(3)} ms/call\n`),
      );
    }
    rounds.push(runs);
  }
  const summary: Extract<S16Result, { rate: number }>['summary'] = {};
  for (const system of s16Systems) {
    const runs = rounds.flat().filter((r) => r.system === system);
    const cpu = runs.map((r) => r.serverCpuMsPerCall).filter((c): c is number => c !== undefined);
    summary[system] = {
      p50: median(runs.map((r) => r.latency.p50)),
      ...(cpu.length > 0 ? { serverCpuMsPerCall: median(cpu) } : {}),
      failed: runs.reduce((sum, r) => sum + r.failed, 0),
    };
  }
  return { result: { rate, options, rounds, summary }, cleanup: started.cleanup };
}

/** Starts bench/relay-server.ts in front of `remote`; a `raw` target (the raw baseline of a federated call). */
async function startRelay(repoRoot: string, remote: Target): Promise<Target> {
  const child = spawnChild('relay', process.execPath, ['--import', 'tsx', 'bench/relay-server.ts'], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], BENCH_RELAY_TARGET: remote.url },
    cwd: repoRoot,
  });
  const port = await readPort(child);
  return {
    ...remote,
    name: 'raw',
    url: `http://127.0.0.1:${port}/mcp`,
    pid: child.process.pid,
    note: 'raw MCP relay in front of the sdk target',
  };
}

/** S16 rows: added p50 (target <= 1 ms) and federated / OpenAPI server CPU per call (target <= 2x). */
export function createS16Rows(s16: S16Result): ReportRow[] {
  if ('skipped' in s16) {
    return [
      {
        scenario: 'S16 federated MCP tools/call',
        ours: `skipped: ${s16.skipped}`,
        baseline: '-',
        ratio: '-',
        target: '-',
        result: 'n/a',
      },
    ];
  }
  const { remote, federated, openapi } = s16.summary;
  const rows: ReportRow[] = [];
  if (remote && federated) {
    const added = federated.p50 - remote.p50;
    rows.push({
      scenario: `S16 federated tools/call added p50 at ${s16.rate} req/s`,
      ours: `federated ${federated.p50.toFixed(2)} ms`,
      baseline: `remote ${remote.p50.toFixed(2)} ms`,
      ratio: `+${added.toFixed(2)} ms`,
      target: '<= 1 ms',
      result: federated.failed > 0 ? 'fail' : added <= 1 ? 'pass' : 'fail',
    });
  }
  // Context: what the extra hop alone adds (a relay with no work of its own), and Gatehouse's own part over it.
  const { relay } = s16.summary;
  if (remote && relay && federated) {
    rows.push(
      {
        scenario: `S16 context: raw relay added p50 at ${s16.rate} req/s`,
        ours: `relay ${relay.p50.toFixed(2)} ms`,
        baseline: `remote ${remote.p50.toFixed(2)} ms`,
        ratio: `+${(relay.p50 - remote.p50).toFixed(2)} ms`,
        target: '-',
        result: 'info',
      },
      {
        scenario: 'S16 context: federated over raw relay, p50',
        ours: `federated ${federated.p50.toFixed(2)} ms`,
        baseline: `relay ${relay.p50.toFixed(2)} ms`,
        ratio: `${federated.p50 >= relay.p50 ? '+' : ''}${(federated.p50 - relay.p50).toFixed(2)} ms`,
        target: '-',
        result: 'info',
      },
    );
  }
  const ours = federated?.serverCpuMsPerCall;
  const base = openapi?.serverCpuMsPerCall;
  if (ours !== undefined && base !== undefined) {
    rows.push({
      scenario: 'S16 server CPU/call, federated / OpenAPI tool',
      ours: `${ours.toFixed(3)} ms`,
      baseline: `${base.toFixed(3)} ms`,
      ratio: `${(ours / base).toFixed(2)}x`,
      target: '<= 2x',
      result: ours / base <= 2 ? 'pass' : 'fail',
    });
  }
  return rows;
}
