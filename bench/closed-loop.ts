import autocannon from 'autocannon';
import { isExpectedBody } from './is-expected-body.ts';
import type { LoadResult, LoadSpec } from './load-spec.ts';

/**
 * Closed-loop load with autocannon: `spec.connections` connections, each sending its next request as soon as the
 * previous one is answered. A warm-up run of `spec.warmupSec` precedes the measured run and is discarded;
 * `onMeasure` is called as the measured run starts.
 */
export async function runClosedLoop(spec: LoadSpec, onMeasure: () => void): Promise<LoadResult> {
  const options = {
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    pipelining: 1,
    timeout: 10,
    verifyBody: (body: string) => isExpectedBody(body, spec.expectText),
  };
  if (spec.warmupSec > 0) await autocannon({ ...options, duration: spec.warmupSec });
  onMeasure();
  const result = await autocannon({ ...options, duration: spec.durationSec });
  // autocannon counts a 2xx whose body failed `verifyBody` both in '2xx' and in 'mismatches'.
  const ok = result['2xx'] - result.mismatches;
  return {
    mode: 'closed',
    durationSec: result.duration,
    ok,
    failed: result.non2xx + result.mismatches + result.errors + result.timeouts,
    rps: result.duration > 0 ? ok / result.duration : 0,
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
  };
}
