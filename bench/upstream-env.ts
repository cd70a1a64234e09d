/**
 * The upstream coordinates a baseline server process receives from the harness: `BENCH_UPSTREAM_URL`
 * (http://127.0.0.1:port) and `BENCH_UPSTREAM_KEY` (the value of the `X-API-Key` header).
 */
export function readUpstreamEnv(): { origin: string; key: string } {
  const origin = process.env['BENCH_UPSTREAM_URL'];
  const key = process.env['BENCH_UPSTREAM_KEY'];
  if (!origin || !key) throw new Error('bench server: BENCH_UPSTREAM_URL and BENCH_UPSTREAM_KEY must be set');
  return { origin, key };
}
