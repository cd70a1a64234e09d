/** What `load.ts` is asked to do (passed as JSON in argv[2]). All durations in seconds, all URLs on 127.0.0.1. */
export type LoadSpec = {
  /** `closed`: N connections each sending the next request when the previous answered (autocannon).
   *  `open`: requests fired on a fixed timetable at `rate` per second whatever the answers do.
   *  `client`: one official MCP SDK client (`client`) keeping `connections` calls in flight (S13). */
  mode: 'closed' | 'open' | 'client';
  url: string;
  /** Closed loop only: the connections are spread evenly over these URLs (each a process of one fleet) instead of
   *  all going to `url`; no balancer process stands between the load and the fleet. */
  urls?: string[];
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** An answer counts as ok only when its status is 2xx, its body contains this text and no `"isError":true`. */
  expectText: string;
  /** Closed loop: concurrent connections. Open loop: size of the connection pool. */
  connections: number;
  /** Open loop only: requests per second. */
  rate?: number;
  /** Client mode only: which SDK client, and the tool it calls (`method`, `body` and most headers are then
   *  the client's own; `headers` carries only what a host adds, such as `authorization`). */
  client?: { sdk: SdkClientVersion; tool: string; arguments: Record<string, unknown> };
  /** Load before measuring, discarded. */
  warmupSec: number;
  durationSec: number;
};

/** The official TypeScript MCP client that drives a `client`-mode load: `@modelcontextprotocol/sdk` 1.x or
 *  `@modelcontextprotocol/client` 2.x. */
export type SdkClientVersion = '1.x' | '2.x';

/** What `load.ts` prints (one JSON line on stdout). Latencies in milliseconds. */
export type LoadResult = {
  mode: 'closed' | 'open' | 'client';
  durationSec: number;
  /** Answers with a 2xx status. */
  ok: number;
  /** Answers with another status or an unexpected body, connection errors and timeouts. */
  failed: number;
  /** `ok` per second over the measured window. */
  rps: number;
  /** With several `urls`: the worst URL's p50, p90, p99 and max, and the mean over all answers. */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Open loop only: requests still unanswered when the drain deadline passed (counted in `failed`). */
  unanswered?: number;
  /** Open loop only: how late requests left against their timetable (ms); large values mean the sender lagged. */
  sendLag?: { p50: number; p99: number };
};
