import { EventEmitter } from 'node:events';
import { Agent } from 'undici';
import { type CallCancellation, type Clock, GatehouseError, systemClock, type ToolSafety } from '../core/index.ts';
import type { BuiltRequest } from './build-request.ts';
import { createAddressGuard, createGuardedConnector, type ResolveHost } from './create-address-guard.ts';
import { readCapped } from './read-capped.ts';
import { toUpstreamError, type UpstreamPhase } from './to-upstream-error.ts';

export interface UpstreamClientOptions {
  /** Hosts (as written in base URLs: names or IP literals) that may resolve to private or loopback addresses. */
  readonly allowPrivateHosts: readonly string[];
  /** `User-Agent` sent upstream; default `Gatehouse/0.1`. */
  readonly userAgent?: string;
  /** Measures `durationMs`. */
  readonly clock?: Clock;
  /** Host name resolver; default the system resolver (`dns.lookup`, all addresses). */
  readonly resolve?: ResolveHost;
  /** Pooled keep-alive connections per origin; default 32. */
  readonly connectionsPerOrigin?: number;
  /**
   * Connections of an origin kept for each tenant's service (MT-08); default 8 (a quarter of the pool). A service
   * may always have this many calls in flight to the origin, and more only while this many connections stay free
   * for other tenants (a lone tenant uses up to pool - 8 = 24). Further calls wait in the service's own queue
   * under their total timeout, never behind another tenant's calls. Clamped to the pool size.
   */
  readonly connectionsPerTenant?: number;
}

/** One call: a built request (credential applied) plus the service's limits. */
export interface UpstreamCall extends BuiltRequest {
  /**
   * The tenant and service the call is made for (MT-08): circuit breakers and the per-tenant share of an origin's
   * connections are kept per tenant and service, so one tenant's failing or slow calls never hold up another's.
   * Absent (calls made for no tenant): one shared scope per origin.
   */
  readonly tenant?: string;
  readonly service?: string;
  /** Total budget for connect, headers and body, including redirects -> `upstream_timeout`. */
  readonly timeoutMs: number;
  /** Budget for DNS + TCP (+ TLS) of a new connection -> `upstream_timeout` with `details.phase = 'connect'`. */
  readonly connectTimeoutMs: number;
  /** Largest body accepted -> `upstream_too_large`; the connection is destroyed, not drained. */
  readonly maxResponseBytes: number;
  /** The service's base URL origin; the only origin this call (and its redirects) may reach. */
  readonly allowedOrigin: string;
  /**
   * The client's cancellation of the tool call: while the call runs, its `onCancel` ends the request (the
   * connection is closed) and the call throws `cancelled` (the client's doing: never counted against the upstream).
   */
  readonly cancellation?: CallCancellation | undefined;
  /**
   * The tool's safety class, for the retrying client (`createRetryingUpstream`): only `safe` calls wait out a 429,
   * and only safe or idempotent calls are retried after a 5xx. Absent: decided by the method alone.
   */
  readonly safety?: ToolSafety;
  /** The service's retry limits for the retrying client; default 2 retries, waiting at most 10 s for a 429. */
  readonly retry?: { readonly maxRetries: number; readonly maxWaitSeconds: number };
}

export interface UpstreamResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with `, `; `set-cookie` dropped (cookies never reach a model). */
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
  readonly body: Uint8Array;
  /** Parsed body when the content type is JSON (`application/json`, `+json`) and the body parses. */
  readonly json?: unknown;
  /**
   * Set together with `json`: the exact text it was parsed from (the body decoded as UTF-8), so later steps can
   * reuse valid JSON text instead of serialising `json` again.
   */
  readonly jsonText?: string;
  /** Same-origin redirects followed to get this response. */
  readonly redirects: number;
  readonly durationMs: number;
}

/**
 * Sends calls through one pooled undici Agent. This is the seam for retries, 429 handling and the circuit
 * breaker: they wrap `send` and decide from the GatehouseError `code` and `details.phase` (`connect` = nothing was
 * sent). Every failure is a GatehouseError from `toUpstreamError`.
 */
export interface UpstreamClient {
  send(call: UpstreamCall): Promise<UpstreamResponse>;
  /** Closes the pool after in-flight calls finish. */
  close(): Promise<void>;
  /**
   * Ends every call in flight now, and every later one at once, with `upstream_error` (reason `SHUTDOWN`, never
   * retried): the last step of a shutdown whose drain time ran out, so those calls still end and are audited.
   */
  abort(): Promise<void>;
}

const maxRedirects = 3;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/**
 * Creates the upstream HTTP client. Guarantees per call:
 * - only `allowedOrigin` is called (`upstream_blocked` otherwise), and only at public addresses unless the host is
 *   in `allowPrivateHosts` (MC-07, see `createAddressGuard`); a blocked call opens no connection;
 * - redirects are followed manually, at most 3, only for GET/HEAD and only within `allowedOrigin`, each hop
 *   re-checked; any other 3xx is returned as the response, so headers (credentials) never reach another origin;
 * - only the request's own headers plus `user-agent` and `content-type` are sent (nothing inbound, MC-02);
 * - the total timeout covers connect, headers and body; an over-size body (declared Content-Length, or counted
 *   while streaming) destroys the connection (UP-05/06).
 */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const clock = options.clock ?? systemClock;
  const userAgent = options.userAgent ?? 'Gatehouse/0.1';
  const guard = createAddressGuard(options.allowPrivateHosts, options.resolve);

  // undici fixes the connect timeout per connector, the pool is shared, and services differ: one connector per
  // timeout value, chosen by the origin being connected (the last timeout configured for that origin).
  const connectTimeouts = new Map<string, number>();
  const connect = createGuardedConnector(
    guard,
    (connectOptions) => connectTimeouts.get(`${connectOptions.protocol}//${connectOptions.host}`) ?? 10_000,
  );
  const connections = options.connectionsPerOrigin ?? 32;
  const shares = createTenantShares(connections, Math.max(1, Math.min(connections, options.connectionsPerTenant ?? 8)));
  const agent = new Agent({
    connect,
    connections,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 60_000,
  });

  async function sendOnce(call: UpstreamCall, url: URL, deadline: CallDeadline, allowedOrigin: string) {
    const origin = url.origin;
    if (origin !== allowedOrigin) {
      throw new GatehouseError('upstream_blocked', `Upstream origin ${origin} is not the service's origin`, {
        origin,
      });
    }
    guard.checkUrl(url);
    connectTimeouts.set(origin, call.connectTimeoutMs);
    const headers: Record<string, string> = { ...call.headers, 'user-agent': userAgent };
    if (call.contentType !== undefined && call.body !== undefined) headers['content-type'] = call.contentType;
    let phase: UpstreamPhase = 'response';
    try {
      const response = await agent.request({
        origin,
        path: `${url.pathname}${url.search}`,
        method: call.method,
        headers,
        body: call.body ?? null,
        signal: deadline,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
      });
      phase = 'body';
      const declared = Number(response.headers['content-length']);
      if (call.method !== 'HEAD' && Number.isFinite(declared) && declared > call.maxResponseBytes) {
        response.body.destroy();
        throw tooLarge(origin, call.maxResponseBytes);
      }
      const body = await readCapped(response.body, call.maxResponseBytes, () =>
        tooLarge(origin, call.maxResponseBytes),
      );
      return { status: response.statusCode, headers: response.headers, body };
    } catch (error) {
      throw toUpstreamError(error, origin, phase);
    }
  }

  let aborted: Promise<void> | undefined;
  const shutDown = (origin: string) =>
    new GatehouseError('upstream_error', `Call to upstream ${origin} was cut: Gatehouse is shutting down`, {
      origin,
      reason: 'SHUTDOWN',
    });

  async function send(call: UpstreamCall): Promise<UpstreamResponse> {
    if (aborted !== undefined) throw shutDown(call.url.origin);
    const started = clock.monotonic();
    const allowedOrigin = originOf(call.allowedOrigin);
    const deadline = new CallDeadline();
    const timer = setTimeout(endDeadline, call.timeoutMs, deadline, 'timeout');
    const cancellation = call.cancellation;
    const cancel = cancellation === undefined ? undefined : () => deadline.end('cancelled');
    if (cancellation !== undefined) {
      if (cancellation.reason !== undefined) deadline.end('cancelled');
      else cancellation.onCancel = cancel;
    }
    let url = call.url;
    // MT-08: one slot of the tenant's share of this origin for the whole call (redirects stay within the origin).
    const share = shares.shareOf(allowedOrigin, `${call.tenant ?? ''}\u0000${call.service ?? ''}`);
    let admitted = false;
    try {
      const waiting = shares.acquire(share, deadline);
      if (waiting !== undefined) await waiting;
      admitted = true;
      for (let redirects = 0; ; redirects++) {
        const raw = await sendOnce(call, url, deadline, allowedOrigin);
        const location = raw.headers['location'];
        if (
          redirectStatuses.has(raw.status) &&
          typeof location === 'string' &&
          (call.method === 'GET' || call.method === 'HEAD') &&
          redirects < maxRedirects
        ) {
          const next = parseLocation(location, url);
          if (next !== undefined && next.origin === allowedOrigin) {
            url = next;
            continue;
          }
        }
        return toResponse(raw, redirects, clock.monotonic() - started);
      }
    } catch (error) {
      const origin = url.origin;
      if (aborted !== undefined) throw shutDown(origin);
      if (deadline.endedBy === 'timeout') {
        throw new GatehouseError('upstream_timeout', `Call to upstream ${origin} timed out`, {
          origin,
          timeoutMs: call.timeoutMs,
          reason: 'TOTAL_TIMEOUT',
        });
      }
      if (deadline.endedBy === 'cancelled') {
        throw new GatehouseError('cancelled', `The call to upstream ${origin} was cancelled by the client`, { origin });
      }
      throw toUpstreamError(error, origin);
    } finally {
      if (admitted) shares.release(share);
      clearTimeout(timer);
      if (cancellation !== undefined && cancellation.onCancel === cancel) cancellation.onCancel = undefined;
    }
  }

  return {
    send,
    close: () => aborted ?? agent.close(),
    abort: () => {
      aborted ??= agent.destroy();
      return aborted;
    },
  };
}

interface OriginShares {
  /** The map of origins this one is in, and its key there. */
  readonly owner: Map<string, OriginShares>;
  readonly key: string;
  active: number;
  /** Calls waiting in any share's queue; 0 lets a release skip looking for one to wake. */
  queued: number;
  /** Per tenant and service; map order is the round-robin order of waking (a woken share moves to the end). */
  readonly shares: Map<string, Share>;
}

interface Share {
  readonly key: string;
  readonly origin: OriginShares;
  active: number;
  /** Calls in the queue that have not left it. */
  queued: number;
  /** First-come first-served; a call that left stays in the list, settled, and is skipped when its turn comes. */
  first: Waiter | undefined;
  last: Waiter | undefined;
}

/** One call waiting for its share: its deadline ends the wait (`CallDeadline.end`), without an event listener. */
class Waiter {
  next: Waiter | undefined = undefined;
  settled = false;
  readonly share: Share;
  readonly admit: () => void;
  readonly fail: (error: Error) => void;

  constructor(share: Share, admit: () => void, fail: (error: Error) => void) {
    this.share = share;
    this.admit = admit;
    this.fail = fail;
  }

  /** Leaves the queue (the call's deadline ended first); a no-op once admitted. */
  leave(): void {
    if (this.settled) return;
    this.settled = true;
    const share = this.share;
    share.queued--;
    share.origin.queued--;
    if (share.queued === 0) {
      share.first = undefined;
      share.last = undefined;
    }
    dropIfIdle(share);
    this.fail(new Error('Deadline ended while waiting for a connection'));
  }
}

/** Forgets a share with nothing in flight or waiting, and an origin with no share left. */
function dropIfIdle(share: Share): void {
  if (share.active !== 0 || share.queued !== 0) return;
  const origin = share.origin;
  origin.shares.delete(share.key);
  if (origin.shares.size === 0) origin.owner.delete(origin.key);
}

/**
 * Fair use of each origin's `pool` connections by tenants (MT-08), work-conserving: a share (tenant and service)
 * may always have `reserved` calls in flight, and more only while `reserved` connections stay free for the
 * others; nothing ever exceeds the pool, so an admitted call never queues behind other tenants' calls inside
 * undici. Calls over their share wait first-come first-served in the share's own queue and leave it when their
 * deadline ends (the caller then reports the timeout or cancellation). A freed slot goes first to a share below
 * its reserve, round robin, so a newcomer waits at most for one call over another tenant's share to end.
 *
 * The request path is cheap on purpose (S2 runs 50 calls of one tenant over 24 connections, so half its calls
 * queue here): a call under its share costs two map reads and two counters; a queued call one promise and one
 * list node, left lazily when its deadline ends; nothing is searched, spliced or re-inserted while one share is
 * alone on its origin.
 */
function createTenantShares(pool: number, reserved: number) {
  const origins = new Map<string, OriginShares>();
  const admits = (origin: OriginShares, share: Share): boolean =>
    origin.active < pool && (share.active < reserved || origin.active < pool - reserved);

  /** Hands a freed slot to the oldest live waiter of `share`, which `admits` allowed. */
  function admitNext(origin: OriginShares, share: Share): void {
    let waiter = share.first;
    while (waiter?.settled) waiter = waiter.next;
    if (waiter === undefined) return;
    share.queued--;
    share.first = share.queued === 0 ? undefined : waiter.next;
    if (share.first === undefined) share.last = undefined;
    origin.queued--;
    origin.active++;
    share.active++;
    waiter.settled = true;
    waiter.admit();
  }

  function wake(origin: OriginShares): void {
    if (origin.queued === 0) return;
    if (origin.shares.size === 1) {
      for (const share of origin.shares.values()) if (admits(origin, share)) admitNext(origin, share);
      return;
    }
    for (let pass = 0; pass < 2; pass++) {
      for (const [key, share] of origin.shares) {
        if (share.queued === 0 || (pass === 0 && share.active >= reserved) || !admits(origin, share)) continue;
        origin.shares.delete(key);
        origin.shares.set(key, share);
        admitNext(origin, share);
        return;
      }
    }
  }

  return {
    /** The share of `key` (tenant and service) on `originKey`; pass it to `acquire` and `release` right away. */
    shareOf(originKey: string, key: string): Share {
      let origin = origins.get(originKey);
      if (origin === undefined) {
        origin = { owner: origins, key: originKey, active: 0, queued: 0, shares: new Map() };
        origins.set(originKey, origin);
      }
      let share = origin.shares.get(key);
      if (share === undefined) {
        share = { key, origin, active: 0, queued: 0, first: undefined, last: undefined };
        origin.shares.set(key, share);
      }
      return share;
    },
    /** Takes a slot now (undefined), or returns a promise settled when one is taken or `deadline` ends. */
    acquire(share: Share, deadline: CallDeadline): Promise<void> | undefined {
      const origin = share.origin;
      if (share.queued === 0 && admits(origin, share)) {
        origin.active++;
        share.active++;
        return undefined;
      }
      if (deadline.aborted) {
        dropIfIdle(share);
        return Promise.reject(new Error('Deadline ended while waiting for a connection'));
      }
      return new Promise<void>((admit, fail) => {
        const waiter = new Waiter(share, admit, fail);
        if (share.last === undefined) share.first = waiter;
        else share.last.next = waiter;
        share.last = waiter;
        share.queued++;
        origin.queued++;
        deadline.waiter = waiter;
      });
    },
    release(share: Share): void {
      share.active--;
      share.origin.active--;
      wake(share.origin);
      dropIfIdle(share);
    },
  };
}

/**
 * The end of one call (total timeout or the caller's cancellation) in the form of abort signal undici also accepts:
 * an EventEmitter with `aborted` and an `abort` event. One per call is much cheaper than an AbortController and its
 * EventTarget signal (construction, and undici's add/removeEventListener), which showed in profiles.
 */
class CallDeadline extends EventEmitter {
  aborted = false;
  endedBy: 'timeout' | 'cancelled' | undefined = undefined;
  /** Set while the call waits for its tenant's share of the origin: the end takes it out of the queue. */
  waiter: Waiter | undefined = undefined;

  end(cause: 'timeout' | 'cancelled'): void {
    if (this.aborted) return;
    this.aborted = true;
    this.endedBy = cause;
    this.waiter?.leave();
    this.emit('abort');
  }
}

function endDeadline(deadline: CallDeadline, cause: 'timeout' | 'cancelled'): void {
  deadline.end(cause);
}

/** Parsed origins of the services' base URLs (a handful per process), so no URL is parsed per call for it. */
const origins = new Map<string, string>();

function originOf(allowedOrigin: string): string {
  let origin = origins.get(allowedOrigin);
  if (origin === undefined) {
    try {
      origin = new URL(allowedOrigin).origin;
    } catch {
      throw new GatehouseError('config_invalid', 'Allowed upstream origin is not a valid URL');
    }
    if (origins.size >= 1_000) origins.clear();
    origins.set(allowedOrigin, origin);
  }
  return origin;
}

function tooLarge(origin: string, maxResponseBytes: number): GatehouseError {
  return new GatehouseError(
    'upstream_too_large',
    `Response from upstream ${origin} is over ${maxResponseBytes} bytes`,
    {
      origin,
      maxResponseBytes,
    },
  );
}

function parseLocation(location: string, base: URL): URL | undefined {
  try {
    const next = new URL(location, base);
    next.hash = '';
    return next;
  } catch {
    return undefined;
  }
}

function toResponse(
  raw: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer },
  redirects: number,
  durationMs: number,
): UpstreamResponse {
  const headers: Record<string, string> = {};
  for (const name in raw.headers) {
    const value = raw.headers[name];
    const lower = name.toLowerCase();
    if (value === undefined || lower === 'set-cookie') continue;
    headers[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  const contentType = headers['content-type'];
  const body = new Uint8Array(raw.body.buffer, raw.body.byteOffset, raw.body.byteLength);
  const essence = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if ((essence === 'application/json' || essence.endsWith('+json')) && body.byteLength > 0) {
    const jsonText = raw.body.toString('utf8');
    try {
      return {
        status: raw.status,
        headers,
        contentType,
        body,
        json: JSON.parse(jsonText),
        jsonText,
        redirects,
        durationMs,
      };
    } catch {
      // Malformed JSON is returned as bytes; the shaping step renders it as text.
    }
  }
  return { status: raw.status, headers, contentType, body, redirects, durationMs };
}
