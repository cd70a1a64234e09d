import { performance } from 'node:perf_hooks';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { LoadResult, LoadSpec } from './load-spec.ts';
import { percentile } from './percentile.ts';

const callTimeoutMs = 10_000;

/** What both SDK clients offer the loop: `callTool` and `close`. */
type AnyClient = {
  callTool(
    params: { name: string; arguments: Record<string, unknown> },
    resultSchema?: undefined,
    options?: { timeout: number },
  ): Promise<{ content?: unknown; isError?: boolean }>;
  close(): Promise<void>;
};

/**
 * S13's load: one official MCP client (`spec.client.sdk`) connected the way a host connects it (initialize,
 * initialized notification, the optional GET stream), then `spec.connections` workers each calling
 * `spec.client.tool` again as soon as their previous call returned, so that many calls are in flight. The
 * client's fetch keeps its connections alive, so after the first calls no new connection is opened. A warm-up
 * run of `spec.warmupSec` precedes the measured run and is discarded; `onMeasure` is called as the measured run
 * starts. A call counts as ok when its result is not `isError` and its text carries `spec.expectText`.
 */
export async function runSdkClientLoop(spec: LoadSpec, onMeasure: () => void): Promise<LoadResult> {
  if (spec.client === undefined) throw new Error('client mode needs spec.client');
  const { sdk, tool } = spec.client;
  const url = new URL(spec.url);
  const requestInit = { headers: spec.headers };
  const info = { name: 'gatehouse-bench', version: '1.0.0' };
  const client = (sdk === '1.x' ? new ClientV1(info) : new ClientV2(info)) as unknown as AnyClient & {
    connect(transport: unknown): Promise<void>;
  };
  await client.connect(sdk === '1.x' ? new TransportV1(url, { requestInit }) : new TransportV2(url, { requestInit }));

  const run = async (durationSec: number) => {
    const latencies: number[] = [];
    let ok = 0;
    let failed = 0;
    const started = performance.now();
    const endAt = started + durationSec * 1000;
    const worker = async (): Promise<void> => {
      while (performance.now() < endAt) {
        const sentAt = performance.now();
        try {
          const result = await client.callTool({ name: tool, arguments: spec.client!.arguments }, undefined, {
            timeout: callTimeoutMs,
          });
          if (isExpectedResult(result, spec.expectText)) {
            ok++;
            latencies.push(performance.now() - sentAt);
          } else failed++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: spec.connections }, worker));
    return { ok, failed, latencies, seconds: (performance.now() - started) / 1000 };
  };

  if (spec.warmupSec > 0) await run(spec.warmupSec);
  onMeasure();
  const measured = await run(spec.durationSec);
  await client.close().catch(() => {});
  const sorted = measured.latencies.sort((a, b) => a - b);
  const mean = sorted.length === 0 ? Number.NaN : sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  return {
    mode: 'client',
    durationSec: measured.seconds,
    ok: measured.ok,
    failed: measured.failed,
    rps: measured.seconds > 0 ? measured.ok / measured.seconds : 0,
    latency: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? Number.NaN,
      mean,
    },
  };
}

/** The tool result carries the upstream item: not `isError`, and some text content mentions `expectText`. */
function isExpectedResult(result: { content?: unknown; isError?: boolean }, expectText: string): boolean {
  if (result.isError === true || !Array.isArray(result.content)) return false;
  return result.content.some(
    (part: unknown) =>
      typeof part === 'object' &&
      part !== null &&
      typeof (part as { text?: unknown }).text === 'string' &&
      (part as { text: string }).text.includes(expectText),
  );
}
