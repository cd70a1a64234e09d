import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGatehouse } from './gatehouse-target.ts';
import { median } from './percentile.ts';
import { readProcessCpuMs } from './proc-cpu.ts';
import { runLoad } from './run-load.ts';
import { killChildrenNow, readPort, spawnChild, stopChildren } from './spawn-child.ts';
import type { Target } from './target.ts';
import { checkToolCall, toolCall } from './tool-call.ts';

/**
 * `npx tsx bench/profile.ts [--seconds 5] [--rounds 3] [--cpu-prof] [--top 40]`: a developer tool, not a gated
 * benchmark. Runs the closed-loop S2 load (50 connections) against raw and gatehouse, interleaved, and prints the
 * server CPU per request of each (from /proc, more stable than req/s on a shared machine) and their ratio. With
 * `--cpu-prof` the gatehouse process runs under V8's sampling profiler and the profile is summarised by self time
 * per function and per package when it exits.
 */

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'boolean', default: false },
    top: { type: 'string', default: '40' },
  },
});
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
process.on('exit', killChildrenNow);
process.on('SIGINT', () => void stopChildren().then(() => process.exit(130)));

const profileDir = mkdtempSync(join(tmpdir(), 'gatehouse-prof-'));
try {
  const upstreamKey = randomBytes(18).toString('base64url');
  const nodeEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], BENCH_UPSTREAM_KEY: upstreamKey };
  const upstream = spawnChild('fake-upstream', process.execPath, ['--import', 'tsx', 'bench/fake-upstream.ts'], {
    env: nodeEnv,
    cwd: repoRoot,
  });
  const upstreamPort = await readPort(upstream);
  const rawChild = spawnChild('raw', process.execPath, ['--import', 'tsx', 'bench/raw-server.ts'], {
    env: { ...nodeEnv, BENCH_UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}` },
    cwd: repoRoot,
  });
  const raw: Target = {
    name: 'raw',
    url: `http://127.0.0.1:${await readPort(rawChild)}/mcp`,
    method: 'POST',
    headers: { ...toolCall.headers },
    body: toolCall.body,
    pid: rawChild.process.pid,
  };
  const nodeArgs = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const started = await startGatehouse(repoRoot, { port: upstreamPort, key: upstreamKey }, nodeArgs);
  const gatehouse = started.target;
  if (gatehouse.unavailable) throw new Error(`gatehouse: ${gatehouse.unavailable}`);
  await checkToolCall(raw);
  await checkToolCall(gatehouse);

  const cpu: Record<string, number[]> = { raw: [], gatehouse: [] };
  // Measured windows of the gatehouse rounds, in V8 profile time (CLOCK_MONOTONIC microseconds on Linux).
  const windows: [number, number][] = [];
  const rps: Record<string, number[]> = { raw: [], gatehouse: [] };
  for (let round = 0; round < rounds; round++) {
    for (const target of [raw, gatehouse]) {
      let before: number | undefined;
      let windowStart = 0;
      const result = await runLoad(
        repoRoot,
        {
          mode: 'closed',
          url: target.url,
          method: target.method,
          headers: target.headers,
          body: target.body,
          expectText: toolCall.itemId,
          connections: 50,
          warmupSec: 1,
          durationSec: seconds,
        },
        () => {
          before = readProcessCpuMs(target.pid);
          windowStart = monotonicMicros();
        },
      );
      const after = readProcessCpuMs(target.pid);
      if (target === gatehouse) windows.push([windowStart, monotonicMicros()]);
      const perRequest = before !== undefined && after !== undefined ? (after - before) / result.ok : Number.NaN;
      cpu[target.name]?.push(perRequest);
      rps[target.name]?.push(result.rps);
      process.stdout.write(
        `round ${round + 1} ${target.name}: ${Math.round(result.rps)} req/s, failed ${result.failed}, ` +
          `server CPU ${perRequest.toFixed(3)} ms/req\n`,
      );
    }
  }
  const cpuRaw = median(cpu['raw'] ?? []);
  const cpuGate = median(cpu['gatehouse'] ?? []);
  const rpsRaw = median(rps['raw'] ?? []);
  const rpsGate = median(rps['gatehouse'] ?? []);
  process.stdout.write(
    `median: raw ${cpuRaw.toFixed(3)} ms/req ${Math.round(rpsRaw)} req/s; gatehouse ${cpuGate.toFixed(3)} ms/req ` +
      `${Math.round(rpsGate)} req/s; CPU raw/gatehouse ${(cpuRaw / cpuGate).toFixed(2)}x, ` +
      `req/s gatehouse/raw ${(rpsGate / rpsRaw).toFixed(2)}x\n`,
  );

  if (args['cpu-prof']) {
    process.kill(gatehouse.pid as number, 'SIGTERM');
    const file = await waitForProfile(profileDir, gatehouse.pid as number);
    summarise(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile, windows, Number(args.top));
  }
  started.cleanup();
} finally {
  await stopChildren();
  rmSync(profileDir, { recursive: true, force: true });
}

function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

type CpuProfile = {
  startTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
};

/** Waits for the profiled process to exit, then returns the largest profile it wrote (the main thread's). */
async function waitForProfile(dir: string, pid: number): Promise<string> {
  for (let i = 0; i < 300 && isAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const largest = files.sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  if (largest === undefined) throw new Error('no .cpuprofile was written');
  return largest;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Prints self time per function and per package (node_modules/<pkg>, src/<folder>, node internals), counting only
 * samples inside the measured windows (start-up, warm-up and the raw rounds are left out).
 */
function summarise(profile: CpuProfile, windows: readonly [number, number][], top: number): void {
  const byNode = new Map<number, number>();
  let at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (windows.some(([from, to]) => at >= from && at <= to)) byNode.set(id, (byNode.get(id) ?? 0) + delta);
  }
  const total = [...byNode.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byGroup = new Map<string, number>();
  for (const node of profile.nodes) {
    const self = byNode.get(node.id) ?? 0;
    if (self === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const short = url.replace(/^file:\/\//, '').replace(repoRoot, '');
    const key = `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + self);
    byGroup.set(groupOf(short, functionName), (byGroup.get(groupOf(short, functionName)) ?? 0) + self);
  }
  const print = (title: string, map: Map<string, number>, n: number): void => {
    process.stdout.write(`\n${title} (self time, ${Math.round(total / 1000)} ms sampled)\n`);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
    }
  };
  // Inclusive time: a node's self time plus its descendants', summed per function (each function once per stack).
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, self] of byNode) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = nodes.get(at)?.callFrame;
      if (frame === undefined || !frame.url.includes('/src/')) continue;
      const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^file:\/\//, '').replace(repoRoot, '')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + self);
    }
  }
  print('by group', byGroup, 30);
  print('by function', byFunction, top);
  print('inclusive, project functions', inclusive, top);
}

function groupOf(url: string, functionName: string): string {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const src = /^src\/([^/]+)\/([^/]+)/.exec(url);
  if (src) return `src/${src[1]}/${src[2]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  if (url === '') return `(native) ${functionName}`;
  return url;
}
