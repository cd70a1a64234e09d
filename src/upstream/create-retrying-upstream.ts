import { type CallCancellation, type Clock, GatehouseError, type HttpMethod, isGatehouseError } from '../core/index.ts';
import { breakerScopeOf, type CallOutcomeKind, type CircuitBreaker } from './create-circuit-breaker.ts';
import type { UpstreamCall, UpstreamClient, UpstreamResponse } from './create-upstream-client.ts';
import { parseRetryAfter } from './parse-retry-after.ts';

export interface RetryingUpstreamOptions {
  readonly clock: Clock;
  /** The breaker consulted before and told after every attempt; none = no breaker. */
  readonly breaker?: CircuitBreaker;
  /** Waits `ms`; rejects with `cancelled` when the client cancels the call meanwhile. Default: a timer. */
  readonly sleep?: (ms: number, cancellation?: CallCancellation) => Promise<void>;
  /** Uniform [0, 1) for backoff jitter; default Math.random. */
  readonly random?: () => number;
  /** First backoff step for 5xx and connection failures; default 200 ms (then 400, 800 ..., full jitter). */
  readonly backoffMs?: number;
}

const defaultRetry = { maxRetries: 2, maxWaitSeconds: 10 } as const;
const safeMethods: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const retriedStatuses: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/**
 * Wraps an UpstreamClient with the retry rules of DESIGN.md §8 and a per-host circuit breaker. What may be
 * retried follows from the tool (`call.safety`, else the method), never from anything the model says:
 * - 429 on a safe call: waits `Retry-After` (seconds or HTTP-date; a short jittered backoff when absent) and
 *   retries, at most `retry.maxRetries` times (UP-01/02). A wait over `retry.maxWaitSeconds`, a 429 on a non-safe
 *   call, or a 429 after the last retry throws `upstream_rate_limited` with `retryAfterSeconds` (>= 1).
 * - 500/502/503/504 on a safe or idempotent call (a safe tool, or PUT/DELETE): bounded retries with jittered
 *   exponential backoff. Never for POST/PATCH or a tool marked as a write (UP-03): the answer is returned.
 * - Connection failures (`details.phase = 'connect'`: nothing was sent): retried for any call; a refused or
 *   reset connection after sending only for idempotent calls. Timeouts after sending are never retried.
 * Every attempt passes the breaker of the call's origin, tenant and service: 5xx answers, timeouts and connection failures count
 * as failures, every other answer (4xx included) as a success; `circuit_open` is thrown without calling.
 */
export function createRetryingUpstream(inner: UpstreamClient, options: RetryingUpstreamOptions): UpstreamClient {
  const { clock, breaker } = options;
  const sleep = options.sleep ?? sleepFor;
  const random = options.random ?? Math.random;
  const backoffMs = options.backoffMs ?? 200;

  async function send(call: UpstreamCall): Promise<UpstreamResponse> {
    const retry = call.retry ?? defaultRetry;
    const maxWaitMs = retry.maxWaitSeconds * 1000;
    const safe = call.safety === undefined ? safeMethods.has(call.method) : call.safety === 'safe';
    // RFC 9110 §9.2.2: safe methods plus PUT and DELETE; a GET the operator marked as a write is not idempotent.
    const idempotent = safe || call.method === 'PUT' || call.method === 'DELETE';
    const host = originOf(call.allowedOrigin);
    // MT-08: one breaker per tenant and service on a host, so tenant A's failures never pause tenant B.
    const scope = breakerScopeOf(call.tenant, call.service);
    const backoff = (attempt: number) => Math.min(maxWaitMs, backoffMs * 2 ** attempt) * random();

    for (let attempt = 0; ; attempt++) {
      breaker?.enter(host, scope);
      let response: UpstreamResponse;
      try {
        response = await inner.send(call);
      } catch (error) {
        breaker?.record(host, outcomeOfError(error), scope);
        if (attempt < retry.maxRetries && isRetryableError(error, idempotent)) {
          await sleep(backoff(attempt), call.cancellation);
          continue;
        }
        throw error;
      }
      breaker?.record(host, response.status >= 500 ? 'failure' : 'success', scope);

      if (response.status === 429) {
        const advised = parseRetryAfter(response.headers['retry-after'], clock.now());
        const waitMs = advised ?? backoff(attempt);
        if (!safe || waitMs > maxWaitMs || attempt >= retry.maxRetries) {
          const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
          throw new GatehouseError(
            'upstream_rate_limited',
            `Upstream ${host} is rate limiting calls; retry in ${retryAfterSeconds} s`,
            { origin: host, status: 429, retryAfterSeconds },
          );
        }
        await sleep(waitMs, call.cancellation);
        continue;
      }
      if (retriedStatuses.has(response.status) && idempotent && attempt < retry.maxRetries) {
        const advised = parseRetryAfter(response.headers['retry-after'], clock.now());
        await sleep(advised !== undefined && advised <= maxWaitMs ? advised : backoff(attempt), call.cancellation);
        continue;
      }
      return response;
    }
  }

  return { send, close: () => inner.close(), abort: () => inner.abort() };
}

const origins = new Map<string, string>();

/** The breaker's host key; memoised, as services are few and this runs on every call. */
function originOf(allowedOrigin: string): string {
  let origin = origins.get(allowedOrigin);
  if (origin === undefined) {
    try {
      origin = new URL(allowedOrigin).origin;
    } catch {
      origin = allowedOrigin;
    }
    if (origins.size < 10_000) origins.set(allowedOrigin, origin);
  }
  return origin;
}

function outcomeOfError(error: unknown): CallOutcomeKind {
  if (!isGatehouseError(error)) return 'failure';
  if (error.code === 'upstream_timeout' || error.code === 'upstream_unreachable') return 'failure';
  if (error.code === 'upstream_error') return 'failure';
  return 'neutral';
}

function isRetryableError(error: unknown, idempotent: boolean): boolean {
  if (!isGatehouseError(error)) return false;
  if (error.code !== 'upstream_unreachable' && error.code !== 'upstream_timeout') return false;
  if (error.details['phase'] === 'connect') return true;
  return idempotent && error.code === 'upstream_unreachable';
}

function sleepFor(ms: number, cancellation?: CallCancellation): Promise<void> {
  return new Promise((resolve, reject) => {
    if (cancellation?.reason !== undefined) {
      reject(cancelledWhileWaiting());
      return;
    }
    const timer = setTimeout(() => {
      if (cancellation !== undefined && cancellation.onCancel === onCancel) cancellation.onCancel = undefined;
      resolve();
    }, ms);
    const onCancel = () => {
      clearTimeout(timer);
      reject(cancelledWhileWaiting());
    };
    if (cancellation !== undefined) cancellation.onCancel = onCancel;
  });
}

function cancelledWhileWaiting(): GatehouseError {
  return new GatehouseError('cancelled', 'The upstream call was cancelled by the client while it waited to retry');
}
