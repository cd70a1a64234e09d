import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetServicesYaml, seedFleetConnection } from '../test/support/fleet-services.ts';
import { freePort } from '../test/support/free-port.ts';
import { startFakeRefreshServer } from '../test/support/start-fake-refresh-server.ts';
import { median, percentile } from './percentile.ts';

/**
 * The soak of issue 13: one `gatehouse serve` process (the real command, SQLite store) under a constant open-loop
 * load of reads and OAuth calls for `minutes`, its OAuth access tokens living 90 s with a 30 s refresh margin (one
 * rotation a minute, against a fake authorization server that detects reuse). Samples the process's RSS and live
 * heap (after a collection, through bench/memory-probe.mjs) and its open file descriptors every 5 s, and each
 * window's latency p99; reports the slopes after the warm-up. `npm run bench -- --soak` runs 30 minutes;
 * test/bench/soak.integration.test.ts runs 3 in CI.
 */

export interface SoakOptions {
  readonly minutes: number;
  /** Calls per second, open loop (default 40); every fourth is an OAuth call. */
  readonly rate?: number;
  /** Length of a latency window in seconds (default 60). */
  readonly windowSeconds?: number;
  /** Share of the run left out of the slopes, for start-up and JIT (default 0.2, at least one window). */
  readonly warmupShare?: number;
  readonly log?: (line: string) => void;
}

export interface SoakResult {
  readonly minutes: number;
  readonly calls: number;
  readonly errors: number;
  /** The first few error codes, for the report. */
  readonly errorSamples: readonly string[];
  readonly refreshes: number;
  readonly refreshTokenReuses: number;
  /** Least-squares slopes after the warm-up, in MB per hour. */
  readonly rssSlopeMbPerHour: number;
  readonly heapSlopeMbPerHour: number;
  readonly rssMb: { readonly start: number; readonly end: number };
  readonly heapMb: { readonly start: number; readonly end: number };
  /** Open file descriptors: the fewest in the first and in the last measured window, and the most. */
  readonly fds: { readonly start: number; readonly end: number; readonly max: number };
  /** p99 latency of each window, in ms. */
  readonly p99ByWindowMs: readonly number[];
}

const bin = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));
const probe = fileURLToPath(new URL('./memory-probe.mjs', import.meta.url));
const masterKey = Buffer.alloc(32, 11).toString('base64');
const clientKey = 'gatehouse_sk_soak_agent_0123456789abcdef';
const mb = (bytes: number) => bytes / 1_048_576;

/** Least-squares slope of (x, y) points. */
export function slope(points: readonly { readonly x: number; readonly y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - meanX) * (p.y - meanY);
    den += (p.x - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const rate = options.rate ?? 40;
  const windowMs = (options.windowSeconds ?? 60) * 1_000;
  const durationMs = options.minutes * 60_000;
  const warmupMs = Math.max(windowMs, durationMs * (options.warmupShare ?? 0.2));
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'));
  const probeFile = join(dir, 'memory.jsonl');
  writeFileSync(probeFile, '');

  const upstreamBody = JSON.stringify({ id: 'item', name: 'soak', tags: ['a', 'b', 'c'], text: 'x'.repeat(1_500) });
  const upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end(upstreamBody);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const as = await startFakeRefreshServer({ expiresIn: 90 });
  const port = await freePort();
  const store = `sqlite:${join(dir, 'gatehouse.db')}`;
  writeFileSync(
    join(dir, 'gatehouse.yaml'),
    `listen: 127.0.0.1:${port}
store: ${store}
logFormat: json
logLevel: warn
unsafeAllowPrivateUpstreams: [127.0.0.1]
tenants:
  - id: soak
    services:
${fleetServicesYaml(upstreamUrl, as, 30)}
    toolsets:
      - { id: all, tools: [fake_getItem, oauth_getResource] }
    clientKeys:
      - { name: agent, key: ${clientKey}, toolsets: [all], subject: alice }
`,
  );
  // The connection exists before the start, as after a completed consent.
  await seedFleetConnection({ store, dataDir: dir, masterKey, as, tenantId: 'soak', accessExpiresInMs: 90_000 });

  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', probe, bin, 'serve', '--config', 'gatehouse.yaml'],
    {
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        GATEHOUSE_MASTER_KEY: masterKey,
        GATEHOUSE_BENCH_MEMORY_PROBE: probeFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_192);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  try {
    const readyBy = Date.now() + 180_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gatehouse exited during start:\n${output}`);
      if (
        (await fetch(`${base}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) === 200
      )
        break;
      if (Date.now() > readyBy) throw new Error(`gatehouse did not become ready:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    log(`soak: ${options.minutes} min at ${rate} calls/s against pid ${child.pid}`);

    let calls = 0;
    let errors = 0;
    const errorSamples: string[] = [];
    const latencies: number[][] = [];
    const fdSamples: { x: number; y: number }[] = [];
    const started = performance.now();
    const pid = child.pid as number;

    async function call(n: number): Promise<void> {
      const oauth = n % 4 === 3;
      const at = performance.now();
      let failure: string | undefined;
      try {
        const response = await fetch(`${base}/mcp/soak/all`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${clientKey}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: n,
            method: 'tools/call',
            params: oauth
              ? { name: 'oauth_getResource', arguments: {} }
              : { name: 'fake_getItem', arguments: { itemId: `i${n % 1000}` } },
          }),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await response.json()) as {
          result?: { isError?: boolean; structuredContent?: { error?: { code?: string } } };
        };
        if (response.status !== 200 || body.result?.isError === true) {
          failure = body.result?.structuredContent?.error?.code ?? `http_${response.status}`;
        }
      } catch (error) {
        failure = `network: ${String(error)}`;
      }
      const window = Math.floor((at - started) / windowMs);
      const bucket = latencies[window] ?? [];
      latencies[window] = bucket;
      bucket.push(performance.now() - at);
      calls++;
      if (failure !== undefined) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(failure);
      }
    }

    // Open loop: calls leave on schedule whether or not earlier ones have returned.
    const inFlight = new Set<Promise<void>>();
    const intervalMs = 1_000 / rate;
    let sent = 0;
    let nextSample = 0;
    while (performance.now() - started < durationMs) {
      const elapsed = performance.now() - started;
      while (sent < Math.floor(elapsed / intervalMs)) {
        const p = call(sent++).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      if (elapsed >= nextSample) {
        fdSamples.push({ x: elapsed, y: readdirSync(`/proc/${pid}/fd`).length });
        nextSample += 5_000;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, 10)));
    }
    await Promise.all(inFlight);

    const memory = readFileSync(probeFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { at: number; rss: number; heapUsed: number });
    const startWall = Date.now() - (performance.now() - started);
    const measured = memory.filter((m) => m.at - startWall >= warmupMs);
    const hours = (ms: number) => ms / 3_600_000;
    const after = fdSamples.filter((s) => s.x >= warmupMs);
    const p99ByWindowMs = latencies
      .filter((values) => values.length > 0)
      .map((values) => percentile(Float64Array.from(values).sort(), 99));
    const first = measured[0];
    const last = measured[measured.length - 1];
    return {
      minutes: options.minutes,
      calls,
      errors,
      errorSamples,
      refreshes: as.tokenRequests(),
      refreshTokenReuses: as.reuses(),
      rssSlopeMbPerHour: slope(measured.map((m) => ({ x: hours(m.at), y: mb(m.rss) }))),
      heapSlopeMbPerHour: slope(measured.map((m) => ({ x: hours(m.at), y: mb(m.heapUsed) }))),
      rssMb: { start: mb(first?.rss ?? 0), end: mb(last?.rss ?? 0) },
      heapMb: { start: mb(first?.heapUsed ?? 0), end: mb(last?.heapUsed ?? 0) },
      // The fewest open in the first and in the last measured window: sockets of calls in flight come and go (many
      // on a loaded machine), a leak stays.
      fds: {
        start: Math.min(...after.filter((s) => s.x < warmupMs + windowMs).map((s) => s.y)),
        end: Math.min(...after.filter((s) => s.x >= durationMs - windowMs).map((s) => s.y)),
        max: Math.max(0, ...after.map((s) => s.y)),
      },
      p99ByWindowMs,
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
    await new Promise((resolve) => upstream.close(resolve));
    await as.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The report lines of a soak. */
export function formatSoak(result: SoakResult): string {
  const p99 = result.p99ByWindowMs;
  return [
    `soak ${result.minutes} min: ${result.calls} calls, ${result.errors} errors${result.errorSamples.length > 0 ? ` (${result.errorSamples.join(', ')})` : ''}, ${result.refreshes} token refreshes, ${result.refreshTokenReuses} refresh-token reuses`,
    `  RSS ${result.rssMb.start.toFixed(1)} -> ${result.rssMb.end.toFixed(1)} MB (slope ${result.rssSlopeMbPerHour.toFixed(1)} MB/h), live heap ${result.heapMb.start.toFixed(1)} -> ${result.heapMb.end.toFixed(1)} MB (slope ${result.heapSlopeMbPerHour.toFixed(1)} MB/h) after the warm-up`,
    `  open fds (fewest in the first and last window) ${result.fds.start} -> ${result.fds.end} (max ${result.fds.max})`,
    `  p99 per window (ms): ${p99.map((v) => v.toFixed(1)).join(' ')}; median ${median([...p99]).toFixed(1)}`,
  ].join('\n');
}
