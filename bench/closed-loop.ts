import autocannon from 'autocannon';
import { isExpectedBody } from './is-expected-body.ts';
import type { LoadResult, LoadSpec } from './load-spec.ts';

/**
 * Closed-loop load with autocannon: `spec.connections` connections, each sending its next request as soon as the
 * previous one is answered. A warm-up run of `spec.warmupSec` precedes the measured run and is discarded;
 * `onMeasure` is called as the measured run starts. With `spec.urls` one autocannon instance per URL runs at the
 * same time, the connections shared out evenly, and their counts are summed.
 */
type AutocannonResult = Awaited<ReturnType<typeof autocannon>>;

export async function runClosedLoop(spec: LoadSpec, onMeasure: () => void): Promise<LoadResult> {
  const urls = spec.urls ?? [spec.url];
  if (spec.connections < urls.length) throw new Error(`load: ${spec.connections} connections for ${urls.length} URLs`);
  const options = (url: string, i: number) => ({
    url,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections: Math.floor(spec.connections / urls.length) + (i < spec.connections % urls.length ? 1 : 0),
    pipelining: 1,
    timeout: 10,
    verifyBody: (body: string) => isExpectedBody(body, spec.expectText),
  });
  const runAll = (duration: number) => Promise.all(urls.map((url, i) => autocannon({ ...options(url, i), duration })));
  if (spec.warmupSec > 0) await runAll(spec.warmupSec);
  onMeasure();
  const results = await runAll(spec.durationSec);
  // autocannon counts a 2xx whose body failed `verifyBody` both in '2xx' and in 'mismatches'.
  const okOf = (result: AutocannonResult) => result['2xx'] - result.mismatches;
  const ok = results.reduce((sum, result) => sum + okOf(result), 0);
  const durationSec = Math.max(...results.map((result) => result.duration));
  const worst = (pick: (result: AutocannonResult) => number) => Math.max(...results.map(pick));
  return {
    mode: 'closed',
    durationSec,
    ok,
    failed: results.reduce((sum, r) => sum + r.non2xx + r.mismatches + r.errors + r.timeouts, 0),
    rps: durationSec > 0 ? ok / durationSec : 0,
    latency: {
      p50: worst((r) => r.latency.p50),
      p90: worst((r) => r.latency.p90),
      p99: worst((r) => r.latency.p99),
      max: worst((r) => r.latency.max),
      mean: ok > 0 ? results.reduce((sum, r) => sum + r.latency.mean * okOf(r), 0) / ok : Number.NaN,
    },
  };
}
