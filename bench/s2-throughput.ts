import type { LoadResult } from './load-spec.ts';
import { median } from './percentile.ts';
import { readProcessCpuMs } from './proc-cpu.ts';
import type { RoundOptions } from './s1-latency.ts';
import type { Target, TargetName } from './target.ts';

export type S2Round = LoadResult & {
  /** CPU of the target's server process per answered request over the measured window, ms (Linux only). */
  serverCpuMsPerRequest?: number;
};

export type S2Result = {
  connections: number;
  options: RoundOptions;
  rounds: Partial<Record<TargetName, S2Round>>[];
  /** Per target: median req/s and server CPU per request over rounds; `failed` summed. */
  summary: Partial<Record<TargetName, { rps: number; serverCpuMsPerRequest?: number; failed: number }>>;
};

const connections = 50;

/**
 * S2 (BENCHMARKS.md): closed-loop `tools/call` with 50 connections against every available target, each run
 * preceded by a discarded warm-up, rounds interleaved (direct raw sdk gatehouse, direct raw ...). The figure is
 * the ratio of median req/s, gatehouse over sdk and over raw.
 */
export async function runS2(
  targets: readonly Target[],
  options: RoundOptions,
  load: (
    target: Target,
    spec: { mode: 'closed'; connections: number } & RoundOptions,
    onMeasure: () => void,
  ) => Promise<LoadResult>,
): Promise<S2Result> {
  const rounds: S2Result['rounds'] = [];
  for (let round = 0; round < options.rounds; round++) {
    const results: Partial<Record<TargetName, S2Round>> = {};
    for (const target of targets) {
      if (target.unavailable) continue;
      let cpuBefore: number | undefined;
      const result: S2Round = await load(target, { mode: 'closed', connections, ...options }, () => {
        cpuBefore = readProcessCpuMs(target.pid);
      });
      const cpuAfter = readProcessCpuMs(target.pid);
      if (cpuBefore !== undefined && cpuAfter !== undefined && result.ok > 0) {
        result.serverCpuMsPerRequest = (cpuAfter - cpuBefore) / result.ok;
      }
      results[target.name] = result;
      process.stderr.write(
        `  S2 round ${round + 1}/${options.rounds} ${target.name}: ${Math.round(result.rps)} req/s, ` +
          `failed ${result.failed}` +
          (result.serverCpuMsPerRequest === undefined
            ? '\n'
            : `, server CPU ${result.serverCpuMsPerRequest.toFixed(3)} ms/req\n`),
      );
    }
    rounds.push(results);
  }
  const summary: S2Result['summary'] = {};
  for (const target of targets) {
    const runs = rounds.map((r) => r[target.name]).filter((r): r is S2Round => r !== undefined);
    if (runs.length === 0) continue;
    const cpu = runs.map((r) => r.serverCpuMsPerRequest).filter((c): c is number => c !== undefined);
    summary[target.name] = {
      rps: median(runs.map((r) => r.rps)),
      serverCpuMsPerRequest: cpu.length > 0 ? median(cpu) : undefined,
      failed: runs.reduce((sum, r) => sum + r.failed, 0),
    };
  }
  return { connections, options, rounds, summary };
}
