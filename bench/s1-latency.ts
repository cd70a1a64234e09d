import type { LoadResult } from './load-spec.ts';
import { median } from './percentile.ts';
import type { Target, TargetName } from './target.ts';

export type RoundOptions = {
  rounds: number;
  warmupSec: number;
  durationSec: number;
  /** The unmeasured open-loop pass per target before the first round (`warmOpenLoop`), in seconds at the measured rate. */
  jitWarmSec?: number;
};
type OpenLoad = (
  target: Target,
  spec: { mode: 'open'; rate: number; connections: number } & RoundOptions,
) => Promise<LoadResult>;

/** The open-loop pass's first phase: well above the measured rate, so a few thousand calls run in a few seconds. */
const warmRate = 1_000;

/**
 * One unmeasured pass of `target` with the driver the rounds use (open loop, 8 connections): `jitWarmSec / 4`
 * seconds at 1,000 req/s, then `jitWarmSec` at the measured rate. Why: the closed-loop pass before the scenarios
 * (autocannon) warms the JIT for autocannon's requests; the open-loop driver's requests and connection pattern
 * differ, and switching to them deoptimised ~20 functions of Node's HTTP stack (`--trace-deopt`: "wrong map" in
 * `Socket._read`, `parserOnIncoming`, `onParserExecute` ...), which at 100 req/s took 30-40 s of calls to be
 * optimised again: rounds of 10 s measured mostly unoptimised code (1.4-1.8 ms of CPU per call against ~1 ms once
 * settled), a state a gateway serving 100 req/s leaves within a minute and never returns to.
 */
export async function warmOpenLoop(target: Target, rate: number, options: RoundOptions, load: OpenLoad): Promise<void> {
  const seconds = options.jitWarmSec ?? 0;
  if (seconds <= 0) return;
  const pass = { connections: 8, rounds: 1, warmupSec: 0 };
  await load(target, { mode: 'open', ...pass, rate: warmRate, durationSec: seconds / 4 });
  await load(target, { mode: 'open', ...pass, rate, durationSec: seconds });
}

/** Per target: median over rounds of each round's figure; `added*` subtract direct's medians (ms). */
export type S1Summary = {
  p50: number;
  p99: number;
  failed: number;
  addedP50?: number;
  addedP99?: number;
};

export type S1Result = {
  rate: number;
  options: RoundOptions;
  rounds: Partial<Record<TargetName, LoadResult>>[];
  summary: Partial<Record<TargetName, S1Summary>>;
};

const rate = 100;

/**
 * S1 (BENCHMARKS.md): open-loop `tools/call` at 100 req/s against every available target, rounds interleaved
 * (direct raw sdk gatehouse, direct raw ...), latency measured from each request's scheduled time. The figure is
 * the added latency of a gateway: its median p50 / p99 over rounds minus direct's.
 */
export async function runS1(targets: readonly Target[], options: RoundOptions, load: OpenLoad): Promise<S1Result> {
  for (const target of targets) if (!target.unavailable) await warmOpenLoop(target, rate, options, load);
  const rounds: S1Result['rounds'] = [];
  for (let round = 0; round < options.rounds; round++) {
    const results: Partial<Record<TargetName, LoadResult>> = {};
    for (const target of targets) {
      if (target.unavailable) continue;
      results[target.name] = await load(target, { mode: 'open', rate, connections: 8, ...options });
      report(`S1 round ${round + 1}/${options.rounds} ${target.name}`, results[target.name]!);
    }
    rounds.push(results);
  }
  const summary: S1Result['summary'] = {};
  for (const target of targets) {
    const runs = rounds.map((r) => r[target.name]).filter((r): r is LoadResult => r !== undefined);
    if (runs.length === 0) continue;
    summary[target.name] = {
      p50: median(runs.map((r) => r.latency.p50)),
      p99: median(runs.map((r) => r.latency.p99)),
      failed: runs.reduce((sum, r) => sum + r.failed, 0),
    };
  }
  const direct = summary.direct;
  for (const [name, s] of Object.entries(summary)) {
    if (name === 'direct' || !direct) continue;
    s.addedP50 = s.p50 - direct.p50;
    s.addedP99 = s.p99 - direct.p99;
  }
  return { rate, options, rounds, summary };
}

function report(label: string, result: LoadResult): void {
  const { p50, p99 } = result.latency;
  const lag = result.sendLag ? `, send lag p99 ${result.sendLag.p99.toFixed(3)} ms` : '';
  process.stderr.write(
    `  ${label}: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, failed ${result.failed}${lag}\n`,
  );
}
