import type { LoadResult, LoadSpec } from './load-spec.ts';
import { median } from './percentile.ts';
import { readProcessCpuMs } from './proc-cpu.ts';
import type { RoundOptions } from './s1-latency.ts';
import type { Target, TargetName } from './target.ts';
import { toolCall } from './tool-call.ts';

/**
 * What drives a target in S13: autocannon with the fixed body (closed loop), an official SDK client, or the fixed
 * body sent open-loop at the rate the 1.x client reached in the same round (`fixed @ client rate`): it tells the
 * cost of the arrival rate from the cost of what the client sends.
 */
export const s13Drivers = ['autocannon', 'sdk 1.x', 'fixed @ client rate', 'sdk 2.x'] as const;
export type S13Driver = (typeof s13Drivers)[number];

export type S13Run = LoadResult & {
  target: TargetName;
  driver: S13Driver;
  /** CPU of the target's server process per answered call over the measured window, ms (Linux only). */
  serverCpuMsPerCall?: number;
};

export type S13Figure = { rps: number; serverCpuMsPerCall?: number; failed: number };

export type S13Result = {
  inFlight: number;
  options: RoundOptions;
  rounds: S13Run[][];
  /** Per target and driver: median calls/s and server CPU per call over rounds; `failed` summed. */
  summary: Partial<Record<TargetName, Partial<Record<S13Driver, S13Figure>>>>;
};

/** Calls in flight, for every driver alike. */
const inFlight = 16;

/**
 * S13 (BENCHMARKS.md): S2's call driven by the official MCP SDK clients (1.x and 2.x, one client each, 16 calls
 * in flight, kept-alive connections), by autocannon with the fixed body at the same 16 in flight, and by the fixed
 * body open-loop at the rate the 1.x client reached; against raw, sdk, gatehouse and the peer
 * (`@ivotoby/openapi-mcp-server`, which only a real client can drive). The
 * figure is the server process's CPU per answered call, read from /proc over each measured window: it moves far
 * less than calls/s when the load generator, itself heavy with an SDK client, shares the cores. Rounds are
 * interleaved: every target with every driver, then the next round.
 */
export async function runS13(
  targets: readonly Target[],
  options: RoundOptions,
  load: (spec: LoadSpec, onMeasure: () => void) => Promise<LoadResult>,
): Promise<S13Result> {
  // S13 compares servers under real clients; the OAuth variant of gatehouse is S1/S2's.
  const measured = targets.filter((t) => t.name !== 'direct' && t.name !== 'gatehouse-oauth' && !t.unavailable);
  // One unmeasured client pass per target first: the peer has had no autocannon warm-up, and the client paths
  // (initialize, the session, the SDK server's per-request objects) must be compiled before a round counts.
  for (const target of measured) {
    await load(specFor(target, 'sdk 1.x', { ...options, warmupSec: 0 }), () => {});
  }
  const rounds: S13Result['rounds'] = [];
  for (let round = 0; round < options.rounds; round++) {
    const runs: S13Run[] = [];
    for (const target of measured) {
      let clientRate: number | undefined;
      for (const driver of s13Drivers) {
        // The peer answers tools/call on its session stream: a fixed POST body gets a 202, never the result.
        if (target.name === 'peer' && (driver === 'autocannon' || driver === 'fixed @ client rate')) continue;
        if (driver === 'fixed @ client rate' && clientRate === undefined) continue;
        let cpuBefore: number | undefined;
        const result = await load(specFor(target, driver, options, clientRate), () => {
          cpuBefore = readProcessCpuMs(target.pid);
        });
        const cpuAfter = readProcessCpuMs(target.pid);
        const run: S13Run = { ...result, target: target.name, driver };
        if (driver === 'sdk 1.x' && result.ok > 0) clientRate = Math.max(1, Math.round(result.rps));
        if (cpuBefore !== undefined && cpuAfter !== undefined && result.ok > 0) {
          run.serverCpuMsPerCall = (cpuAfter - cpuBefore) / result.ok;
        }
        runs.push(run);
        process.stderr.write(
          `  S13 round ${round + 1}/${options.rounds} ${target.name} by ${driver}: ${Math.round(result.rps)} calls/s, ` +
            `failed ${result.failed}` +
            (run.serverCpuMsPerCall === undefined
              ? '\n'
              : `, server CPU ${run.serverCpuMsPerCall.toFixed(3)} ms/call\n`),
        );
      }
    }
    rounds.push(runs);
  }
  const summary: S13Result['summary'] = {};
  for (const target of measured) {
    for (const driver of s13Drivers) {
      const runs = rounds.flat().filter((r) => r.target === target.name && r.driver === driver);
      if (runs.length === 0) continue;
      const cpu = runs.map((r) => r.serverCpuMsPerCall).filter((c): c is number => c !== undefined);
      const byDriver = summary[target.name] ?? {};
      summary[target.name] = byDriver;
      byDriver[driver] = {
        rps: median(runs.map((r) => r.rps)),
        serverCpuMsPerCall: cpu.length > 0 ? median(cpu) : undefined,
        failed: runs.reduce((sum, r) => sum + r.failed, 0),
      };
    }
  }
  return { inFlight, options, rounds, summary };
}

function specFor(target: Target, driver: S13Driver, options: RoundOptions, clientRate?: number): LoadSpec {
  const common = {
    url: target.url,
    expectText: toolCall.itemId,
    connections: inFlight,
    warmupSec: options.warmupSec,
    durationSec: options.durationSec,
  };
  const fixed = { method: target.method, headers: target.headers, body: target.body };
  if (driver === 'autocannon') return { ...common, ...fixed, mode: 'closed' };
  if (driver === 'fixed @ client rate') return { ...common, ...fixed, mode: 'open', rate: clientRate };
  // A host adds only its credential; the SDK client sets content type, accept and protocol version itself.
  const headers: Record<string, string> = {};
  if (target.headers['authorization'] !== undefined) headers['authorization'] = target.headers['authorization'];
  return {
    ...common,
    mode: 'client',
    method: 'POST',
    headers,
    client: {
      sdk: driver === 'sdk 1.x' ? '1.x' : '2.x',
      tool: target.tool ?? toolCall.tool,
      arguments: { id: toolCall.itemId },
    },
  };
}
