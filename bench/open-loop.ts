import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { isExpectedBody } from './is-expected-body.ts';
import type { LoadResult, LoadSpec } from './load-spec.ts';
import { percentile } from './percentile.ts';

const requestTimeoutMs = 10_000;
const drainLimitMs = 10_000;
const spinMs = 1.5;

/**
 * Open-loop load: request i is due at `start + i / rate` and is sent then, whether or not earlier requests were
 * answered, and its latency is measured from that scheduled time, not from when it was actually sent. A stalled
 * server therefore shows up as latency instead of silently slowing the sender (no coordinated omission). Requests
 * due during the first `spec.warmupSec` are sent but not measured; `onMeasure` is called when the first measured
 * request is due. Bounded: sending stops at the end of the window
 * and the drain waits at most 10 s; unanswered requests count as failed.
 */
export async function runOpenLoop(spec: LoadSpec, onMeasure: () => void): Promise<LoadResult> {
  const rate = spec.rate ?? 100;
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, {
    connections: spec.connections,
    keepAliveTimeout: 60_000,
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
  });
  const path = url.pathname + url.search;
  const intervalMs = 1000 / rate;
  const total = Math.round((spec.warmupSec + spec.durationSec) * rate);
  const firstMeasured = Math.round(spec.warmupSec * rate);
  const latencies: number[] = [];
  const sendLags: number[] = [];
  let ok = 0;
  let failed = 0;
  let inFlight = 0;
  let sent = 0;
  let onIdle: (() => void) | undefined;

  const send = (index: number, due: number): void => {
    inFlight++;
    if (index >= firstMeasured) sendLags.push(performance.now() - due);
    pool
      .request({ path, method: spec.method, headers: spec.headers, body: spec.body })
      .then(async (res) => {
        const text = await res.body.text();
        return res.statusCode >= 200 && res.statusCode < 300 && isExpectedBody(text, spec.expectText);
      })
      .then(
        (success) => record(index, due, success),
        () => record(index, due, false),
      );
  };
  const record = (index: number, due: number, success: boolean): void => {
    inFlight--;
    if (index >= firstMeasured) {
      if (success) {
        ok++;
        latencies.push(performance.now() - due);
      } else failed++;
    }
    if (inFlight === 0 && sent === total) onIdle?.();
  };

  const start = performance.now() + 20;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      // Timers fire up to a few ms late on a busy machine: wake early and spin to the due time, so the timetable
      // itself adds (almost) no latency to what is measured.
      let now = performance.now();
      const due = start + sent * intervalMs;
      while (now < due) now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) {
        if (sent === firstMeasured) onMeasure();
        send(sent, start + sent * intervalMs);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * intervalMs - spinMs - performance.now()));
      else resolve();
    };
    setTimeout(tick, 0);
  });
  await new Promise<void>((resolve) => {
    if (inFlight === 0) return resolve();
    onIdle = resolve;
    setTimeout(resolve, drainLimitMs).unref();
  });
  const unanswered = inFlight;
  await pool.destroy();

  const sorted = Float64Array.from(latencies).sort();
  sendLags.sort((a, b) => a - b);
  const mean = latencies.length === 0 ? Number.NaN : latencies.reduce((a, b) => a + b, 0) / latencies.length;
  return {
    mode: 'open',
    durationSec: spec.durationSec,
    ok,
    failed: failed + unanswered,
    rps: ok / spec.durationSec,
    latency: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
      mean,
    },
    unanswered,
    sendLag: { p50: percentile(sendLags, 50), p99: percentile(sendLags, 99) },
  };
}
