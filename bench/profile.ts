import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGatehouse } from './gatehouse-target.ts';
import { median } from './percentile.ts';
import { readProcessCpuMs } from './proc-cpu.ts';
import { runLoad } from './run-load.ts';
import { federationSettings } from './s16-federation.ts';
import { killChildrenNow, readPort, spawnChild, stopChildren } from './spawn-child.ts';
import type { Target } from './target.ts';
import { checkToolCall, toolCall } from './tool-call.ts';

/**
 * `npx tsx bench/profile.ts [--seconds 5] [--warm-seconds 8] [--rounds 3] [--cpu-prof] [--top 40] [--connections 50] [--rate N]
 * [--client 1.x|2.x] [--base <checkout>] [--variant '<json>'] [--variant-node-args '<flags>'] [--perf] [--keep]
 * [--federated]`: a developer tool, not a gated benchmark. Runs the closed-loop S2 load (50 connections; with
 * `--rate`, an open loop at N req/s, which compares CPU per request below saturation; with `--client`, an official
 * SDK client with `--connections` calls in flight, as S13) against raw and gatehouse, interleaved, and prints the
 * server CPU per request of each (from /proc, more stable than req/s on a shared machine) and their ratio. With
 * `--cpu-prof` the gatehouse process runs under V8's sampling profiler and the profile is summarised by self time
 * per function and per package when it exits. `--base` adds the gatehouse of another checkout (a worktree at a base
 * commit) and `--variant` one of this checkout with other config settings (or, with `--variant-node-args`, started
 * with other Node.js/V8 flags, e.g. `--single-threaded-gc`), both interleaved with the rest (the order
 * turning by one each round) and
 * compared function by function; `--keep` leaves the .cpuprofile files for a closer look (e.g. callers of a function).
 * `--perf` samples each target with Linux `perf record` (on-CPU samples, kernel included, JS named through
 * `--perf-basic-prof`) during its measured windows instead: V8's profiler samples wall time, so on a loaded machine
 * the time a process waited for a core is charged to whatever it ran next, and its self times are unusable there.
 * Its JIT names come from the `--perf-basic-prof` map, which only grows while V8 reuses code addresses: a name can be
 * stale (seen: the CommonJS lexer's `parseSource` and undici's `llhttp/constants.js` charged with 9-16% of a run
 * whose samples sat in the audit flush), so check a surprising JS name against `--cpu-prof`'s.
 * `--federated` profiles S16's federated call instead: `raw` is then the `sdk` baseline server (bench/sdk-server.ts,
 * the remote MCP server) and each gatehouse (base and variant too) federates it (an `mcp:` service), so the ratio
 * is the federating gateway's CPU per call against the remote server's own (use with `--rate 100`, as S16).
 */

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    'warm-seconds': { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'boolean', default: false },
    perf: { type: 'boolean', default: false },
    top: { type: 'string', default: '40' },
    connections: { type: 'string', default: '50' },
    rate: { type: 'string' },
    client: { type: 'string' },
    base: { type: 'string' },
    variant: { type: 'string' },
    'variant-node-args': { type: 'string' },
    keep: { type: 'boolean', default: false },
    federated: { type: 'boolean', default: false },
  },
});
/**
 * `--variant '<json>'`: one more gatehouse of this checkout, as `variant`, with these top-level config settings
 * (e.g. `{"upstreamPool":{"connectionsPerOrigin":64}}`), to see what one setting costs in the same window.
 */
const variantSettings = args.variant === undefined ? undefined : (JSON.parse(args.variant) as Record<string, unknown>);
/**
 * `--variant-node-args '<flags>'`: the `variant` gatehouse (config settings as `--variant`, else the same) started
 * with these flags before its entry point, to see what a launch flag (a GC setting, say) costs in the same window.
 */
const variantNodeArgs = args['variant-node-args']?.split(/\s+/).filter((flag) => flag !== '') ?? [];
/** `--base <worktree>`: a second gatehouse built from another checkout (an A/B against a base commit), as `base`. */
const baseRoot = args.base === undefined ? undefined : `${resolve(args.base)}/`;
if (args.client !== undefined && args.client !== '1.x' && args.client !== '2.x')
  throw new Error('--client: 1.x or 2.x');
/** Samples per second of `perf record`; an odd rate, so sampling does not beat with a periodic timer. */
const perfHz = 997;

const seconds = Number(args.seconds);
/** `--warm-seconds N`: the unmeasured load each target gets before round 1 (0: none). */
const warmSeconds = Number(args['warm-seconds']);
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
  const profileArgs = (name: string): string[] =>
    args['cpu-prof']
      ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`]
      : args.perf
        ? ['--perf-basic-prof']
        : [];
  if (args['cpu-prof'] && args.perf) throw new Error('--cpu-prof or --perf, not both');
  const rawChild = spawnChild(
    'raw',
    process.execPath,
    [...profileArgs('raw'), '--import', 'tsx', args.federated ? 'bench/sdk-server.ts' : 'bench/raw-server.ts'],
    {
      env: { ...nodeEnv, BENCH_UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}` },
      cwd: repoRoot,
    },
  );
  const raw: Target = {
    name: 'raw',
    url: `http://127.0.0.1:${await readPort(rawChild)}/mcp`,
    method: 'POST',
    headers: { ...toolCall.headers },
    body: toolCall.body,
    pid: rawChild.process.pid,
  };
  // `--federated`: every gatehouse federates the remote server (`raw`) instead of calling the fake upstream itself.
  const federation = args.federated ? federationSettings(raw.url) : undefined;
  const settingsWith =
    (extra: Readonly<Record<string, unknown>> = {}) =>
    (clientKey: string): Readonly<Record<string, unknown>> => ({ ...federation?.(clientKey), ...extra });
  const fleet = args.federated ? { oauth: false } : {};
  const started = await startGatehouse(
    repoRoot,
    { port: upstreamPort, key: upstreamKey },
    profileArgs('gatehouse'),
    settingsWith(),
    fleet,
  );
  const gatehouse = started.target;
  if (gatehouse.unavailable) throw new Error(`gatehouse: ${gatehouse.unavailable}`);
  const startedBase =
    baseRoot === undefined
      ? undefined
      : await startGatehouse(
          baseRoot,
          { port: upstreamPort, key: upstreamKey },
          profileArgs('base'),
          settingsWith(),
          fleet,
        );
  const base = startedBase === undefined ? undefined : { ...startedBase.target, name: 'base' };
  if (base?.unavailable) throw new Error(`base: ${base.unavailable}`);
  const startedVariant =
    variantSettings === undefined && variantNodeArgs.length === 0
      ? undefined
      : await startGatehouse(
          repoRoot,
          { port: upstreamPort, key: upstreamKey },
          [...profileArgs('variant'), ...variantNodeArgs],
          settingsWith(variantSettings),
          fleet,
        );
  const variant = startedVariant === undefined ? undefined : { ...startedVariant.target, name: 'variant' };
  if (variant?.unavailable) throw new Error(`variant: ${variant.unavailable}`);
  const targets = [raw, ...(base === undefined ? [] : [base]), gatehouse, ...(variant === undefined ? [] : [variant])];
  for (const target of targets) await checkToolCall(target);

  const cpu: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  // Measured windows per target, in V8 profile time (CLOCK_MONOTONIC microseconds on Linux), and answers in them.
  const windows: Record<string, [number, number][]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  const answered: Record<string, number> = Object.fromEntries(targets.map((t) => [t.name, 0]));
  const rps: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  // `--perf`: one `perf record` per measured window, as <dir>/perf/<target>-<round>.data.
  const perfFiles: Record<string, string[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  if (args.perf) mkdirSync(join(profileDir, 'perf'));
  // A target's first seconds of load run code V8 has not optimised yet (and, for a client driver, the client's own
  // first calls): one unmeasured pass per target first, so round 1 measures the same settled code as the others.
  const loadSpecFor = (
    target: Pick<Target, 'url' | 'method' | 'headers' | 'body'>,
    durationSec: number,
    warmupSec: number,
  ) => ({
    ...(args.client !== undefined
      ? {
          mode: 'client' as const,
          client: { sdk: args.client as '1.x' | '2.x', tool: toolCall.tool, arguments: { id: toolCall.itemId } },
        }
      : args.rate === undefined
        ? { mode: 'closed' as const }
        : { mode: 'open' as const, rate: Number(args.rate) }),
    url: target.url,
    method: target.method,
    headers:
      args.client === undefined
        ? target.headers
        : target.headers['authorization'] === undefined
          ? {}
          : { authorization: target.headers['authorization'] },
    body: target.body,
    expectText: toolCall.itemId,
    connections: Number(args.connections),
    warmupSec,
    durationSec,
  });
  if (warmSeconds > 0) {
    for (const target of targets) await runLoad(repoRoot, loadSpecFor(target, warmSeconds, 0), () => {});
  }
  for (let round = 0; round < rounds; round++) {
    // The order turns by one each round: the target measured in a given position (after which other one, on a
    // warmer or cooler machine) measured ~4% apart from the same code in another (the cancellation A/B of 0727300).
    const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
    for (const target of order) {
      let before: number | undefined;
      let windowStart = 0;
      let recording: ChildProcess | undefined;
      const result = await runLoad(repoRoot, loadSpecFor(target, seconds, 1), () => {
        before = readProcessCpuMs(target.pid);
        windowStart = monotonicMicros();
        if (args.perf) recording = startPerf(target, round, perfFiles);
      });
      if (recording !== undefined) await stopPerf(recording);
      const after = readProcessCpuMs(target.pid);
      windows[target.name]?.push([windowStart, monotonicMicros()]);
      answered[target.name] = (answered[target.name] ?? 0) + result.ok;
      const perRequest = before !== undefined && after !== undefined ? (after - before) / result.ok : Number.NaN;
      cpu[target.name]?.push(perRequest);
      rps[target.name]?.push(result.rps);
      process.stdout.write(
        `round ${round + 1} ${target.name}: ${Math.round(result.rps)} req/s, p50 ${result.latency.p50.toFixed(2)} ms, ` +
          `failed ${result.failed}, ` +
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
  for (const other of [base, variant]) {
    if (other === undefined) continue;
    const cpuOther = median(cpu[other.name] ?? []);
    const rpsOther = median(rps[other.name] ?? []);
    process.stdout.write(
      `median: ${other.name} ${cpuOther.toFixed(3)} ms/req ${Math.round(rpsOther)} req/s; CPU raw/${other.name} ` +
        `${(cpuRaw / cpuOther).toFixed(2)}x, req/s ${other.name}/raw ${(rpsOther / rpsRaw).toFixed(2)}x; ` +
        `CPU gatehouse/${other.name} ${(cpuGate / cpuOther).toFixed(2)}x\n`,
    );
  }

  if (args['cpu-prof']) {
    const profiles: Record<string, Summary> = {};
    for (const target of targets) {
      process.kill(target.pid as number, 'SIGTERM');
      const dir = join(profileDir, target.name);
      const file = await waitForProfile(dir, target.pid as number);
      const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
      profiles[target.name] = summarise(profile, windows[target.name] ?? [], answered[target.name] ?? 1);
    }
    printSummaries(profiles['raw'] as Summary, profiles['gatehouse'] as Summary, Number(args.top));
    for (const other of ['base', 'variant']) {
      const profile = profiles[other];
      if (profile !== undefined) printComparison(other, profile, profiles['gatehouse'] as Summary, Number(args.top));
    }
  }
  if (args.perf) {
    const profiles: Record<string, Summary> = {};
    for (const target of targets) {
      profiles[target.name] = summarisePerf(perfFiles[target.name] ?? [], answered[target.name] ?? 1);
    }
    printSummaries(profiles['raw'] as Summary, profiles['gatehouse'] as Summary, Number(args.top));
    for (const other of ['base', 'variant']) {
      const profile = profiles[other];
      if (profile !== undefined) printComparison(other, profile, profiles['gatehouse'] as Summary, Number(args.top));
    }
  }
  started.cleanup();
  startedBase?.cleanup();
  startedVariant?.cleanup();
} finally {
  await stopChildren();
  if (args.keep) process.stdout.write(`profiles kept in ${profileDir}\n`);
  else rmSync(profileDir, { recursive: true, force: true });
}

/** `perf record` of the target's process (all its threads, kernel included) until `stopPerf`. */
function startPerf(target: Target, round: number, files: Record<string, string[]>): ChildProcess {
  const file = join(profileDir, 'perf', `${target.name}-${round}.data`);
  files[target.name]?.push(file);
  const recording = spawn(
    'perf',
    ['record', '-q', '-F', String(perfHz), '-e', 'cpu-clock', '-p', String(target.pid), '-o', file],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  recording.on('error', (error) => {
    throw new Error(`--perf: cannot run perf (${error.message}); install linux-perf or drop --perf`);
  });
  return recording;
}

async function stopPerf(recording: ChildProcess): Promise<void> {
  const exited = new Promise<number | null>((done) => recording.once('exit', (code) => done(code)));
  recording.kill('SIGINT');
  await exited;
}

/**
 * Samples per symbol over a target's `perf record` files, as microseconds per answered request; grouped by what
 * holds the symbol (the kernel, V8's JIT code, node itself, better-sqlite3, libc). JS functions are named by
 * `--perf-basic-prof` (`JS:*name file:line`, the tier mark dropped so tiers add up).
 */
function summarisePerf(files: readonly string[], requests: number): Summary {
  const summary: Summary = { byGroup: new Map(), byFunction: new Map(), inclusive: new Map(), total: 0 };
  const usPerSample = 1e6 / perfHz / requests;
  for (const file of files) {
    const report = execFileSync(
      'perf',
      [
        'report',
        '-i',
        file,
        '--stdio',
        '--no-children',
        '--sort',
        'dso,symbol',
        '-g',
        'none',
        '-F',
        'sample,dso,symbol',
        '-t',
        '\t',
      ],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    for (const line of report.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const [samples, dso, symbol] = line.split('\t').map((field) => field.trim());
      const us = Number(samples) * usPerSample;
      if (!Number.isFinite(us) || dso === undefined || symbol === undefined) continue;
      let name = symbol
        .replace(/^\[.\] /, '')
        .replace(/^JS:[*^~+-]?/, '')
        .replaceAll('file://', '');
      name = name.replaceAll(repoRoot, '');
      if (baseRoot !== undefined) name = name.replaceAll(baseRoot, '');
      const group = dso.startsWith('[JIT]') ? 'JS (JIT)' : dso;
      summary.total += us;
      summary.byFunction.set(name, (summary.byFunction.get(name) ?? 0) + us);
      summary.byGroup.set(group, (summary.byGroup.get(group) ?? 0) + us);
    }
  }
  return summary;
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

type Summary = {
  /** Microseconds of self time per answered request, by group and by function; inclusive by project function. */
  byGroup: Map<string, number>;
  byFunction: Map<string, number>;
  inclusive: Map<string, number>;
  total: number;
};

/**
 * Self time per function and per package (node_modules/<pkg>, src/<folder>/<file>, node internals), counting only
 * samples inside the measured windows (start-up and warm-up are left out), as microseconds per answered request.
 */
function summarise(profile: CpuProfile, windows: readonly [number, number][], requests: number): Summary {
  const byNode = new Map<number, number>();
  let at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (windows.some(([from, to]) => at >= from && at <= to)) byNode.set(id, (byNode.get(id) ?? 0) + delta);
  }
  const add = (map: Map<string, number>, key: string, us: number): void => {
    map.set(key, (map.get(key) ?? 0) + us / requests);
  };
  const summary: Summary = { byGroup: new Map(), byFunction: new Map(), inclusive: new Map(), total: 0 };
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  for (const [id, self] of byNode) {
    const node = nodes.get(id);
    if (node === undefined || self === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const short = shortUrl(url);
    if (functionName !== '(idle)') summary.total += self / requests;
    add(summary.byFunction, `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`, self);
    add(summary.byGroup, groupOf(short, functionName), self);
    // Inclusive time of project functions (each once per stack; synchronous stacks only).
    const seen = new Set<string>();
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const frame = nodes.get(up)?.callFrame;
      if (frame === undefined || !/\/(src|build)\//.test(frame.url)) continue;
      const key = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(summary.inclusive, key, self);
    }
  }
  return summary;
}

function printSummaries(raw: Summary, gatehouse: Summary, top: number): void {
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  out(
    `\nCPU (non-idle) per request from the profiles: raw ${raw.total.toFixed(1)} us, gatehouse ${gatehouse.total.toFixed(1)} us`,
  );
  out('\nby group, self time in us per request (gatehouse | raw)');
  const groups = [...new Set([...gatehouse.byGroup.keys(), ...raw.byGroup.keys()])];
  groups.sort((a, b) => (gatehouse.byGroup.get(b) ?? 0) - (gatehouse.byGroup.get(a) ?? 0));
  for (const group of groups.slice(0, 40)) {
    const g = gatehouse.byGroup.get(group) ?? 0;
    const r = raw.byGroup.get(group) ?? 0;
    out(`${g.toFixed(1).padStart(7)} | ${r.toFixed(1).padStart(6)}  ${group}`);
  }
  const print = (title: string, map: Map<string, number>): void => {
    out(`\n${title}`);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      out(`${us.toFixed(1).padStart(7)}  ${key}`);
    }
  };
  print('gatehouse by function, self us per request', gatehouse.byFunction);
  if (gatehouse.inclusive.size > 0) {
    print('gatehouse project functions, inclusive us per request (synchronous part)', gatehouse.inclusive);
  }
}

/** `base` or `variant` against this checkout: per group and per function, the difference in self time (largest growth first). */
function printComparison(name: string, base: Summary, gatehouse: Summary, top: number): void {
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  out(`\nCPU (non-idle) per request: ${name} ${base.total.toFixed(1)} us, gatehouse ${gatehouse.total.toFixed(1)} us`);
  const diff = (title: string, a: Map<string, number>, b: Map<string, number>, limit: number): void => {
    out(`\n${title} (gatehouse - ${name} | gatehouse | ${name}, us per request)`);
    const keys = [...new Set([...a.keys(), ...b.keys()])];
    const delta = (key: string): number => (b.get(key) ?? 0) - (a.get(key) ?? 0);
    keys.sort((x, y) => Math.abs(delta(y)) - Math.abs(delta(x)));
    for (const key of keys.slice(0, limit)) {
      out(
        `${delta(key).toFixed(1).padStart(7)} | ${(b.get(key) ?? 0).toFixed(1).padStart(6)} | ` +
          `${(a.get(key) ?? 0).toFixed(1).padStart(6)}  ${key}`,
      );
    }
  };
  diff('by group, self time', base.byGroup, gatehouse.byGroup, 40);
  diff('by function, self time', base.byFunction, gatehouse.byFunction, top);
}

function shortUrl(url: string): string {
  let short = url.replace(/^file:\/\//, '').replace(repoRoot, '');
  if (baseRoot !== undefined) short = short.replace(baseRoot, '');
  return short;
}

function groupOf(url: string, functionName: string): string {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const src = /(?:^src|^bench\/results\/build)\/([^/]+)\/([^/]+)/.exec(url);
  if (src) return `src/${src[1]}/${src[2]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  if (url === '') return `(native) ${functionName}`;
  return url;
}
