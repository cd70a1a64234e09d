import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../../test/support/start-fake-api.ts';
import { type Clock, cancelCall, createCallCancellation, type HttpMethod, type ToolSafety } from '../core/index.ts';
import { createCircuitBreaker } from './create-circuit-breaker.ts';
import { createRetryingUpstream } from './create-retrying-upstream.ts';
import { createUpstreamClient, type UpstreamCall, type UpstreamClient } from './create-upstream-client.ts';

const clock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

describe('createRetryingUpstream', () => {
  let api: FakeApi;
  let inner: UpstreamClient;
  let sleeps: number[];
  let client: UpstreamClient;

  beforeAll(async () => {
    api = await startFakeApi();
    inner = createUpstreamClient({ allowPrivateHosts: ['127.0.0.1'] });
  });
  afterAll(async () => {
    await inner.close();
    await api.close();
  });
  beforeEach(() => {
    api.received.length = 0;
    sleeps = [];
    client = createRetryingUpstream(inner, {
      clock,
      // Records each wait and returns at once, so the test is fast and the waits are exact.
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    });
  });

  const call = (method: HttpMethod, safety?: ToolSafety, extra: Partial<UpstreamCall> = {}): UpstreamCall => ({
    method,
    url: new URL(`${api.url}/items`),
    headers: {},
    ...(method === 'POST' ? { body: '{}', contentType: 'application/json' } : {}),
    timeoutMs: 2_000,
    connectTimeoutMs: 1_000,
    maxResponseBytes: 1_000_000,
    allowedOrigin: api.url,
    ...(safety ? { safety } : {}),
    ...extra,
  });

  /** Answers the given statuses in order (then 200), with `Retry-After` when given. */
  function script(...answers: [status: number, retryAfter?: string][]) {
    let i = 0;
    api.handle((_request, res) => {
      const [status, retryAfter] = answers[i++] ?? [200];
      res.writeHead(status, {
        'content-type': 'application/json',
        ...(retryAfter ? { 'retry-after': retryAfter } : {}),
      });
      res.end(JSON.stringify({ status }));
    });
  }

  it('UP-01 a safe call answered 429 with Retry-After waits that long, then retries and succeeds', async () => {
    script([429, '2']);
    const response = await client.send(call('GET', 'safe'));
    expect(response.status).toBe(200);
    expect(api.received).toHaveLength(2);
    expect(sleeps).toEqual([2_000]);
  });

  it('UP-01 Retry-After as an HTTP-date is honoured', async () => {
    script([429, new Date(Date.now() + 4_000).toUTCString()]);
    await client.send(call('GET', 'safe'));
    expect(api.received).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(2_000);
    expect(sleeps[0]).toBeLessThanOrEqual(4_000);
  });

  it('UP-02 retries at most twice, then a typed error with the retry time', async () => {
    script([429, '1'], [429, '1'], [429, '3'], [429, '1']);
    await expect(client.send(call('GET', 'safe'))).rejects.toMatchObject({
      code: 'upstream_rate_limited',
      details: { retryAfterSeconds: 3, status: 429 },
    });
    expect(api.received).toHaveLength(3);
    expect(sleeps).toEqual([1_000, 1_000]);
  });

  it('UP-02 a Retry-After beyond the cap (default 10 s) is not waited: typed error at once', async () => {
    script([429, '60']);
    await expect(client.send(call('GET', 'safe'))).rejects.toMatchObject({
      code: 'upstream_rate_limited',
      details: { retryAfterSeconds: 60 },
    });
    expect(api.received).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('UP-02 the cap and the number of retries come from the service', async () => {
    script([429, '60'], [429, '1']);
    await expect(
      client.send(call('GET', 'safe', { retry: { maxRetries: 1, maxWaitSeconds: 120 } })),
    ).rejects.toMatchObject({ code: 'upstream_rate_limited', details: { retryAfterSeconds: 1 } });
    expect(api.received).toHaveLength(2);
    expect(sleeps).toEqual([60_000]);
  });

  it('UP-01 a 429 on a non-safe call is not retried; the error carries the retry time', async () => {
    script([429, '2']);
    await expect(client.send(call('POST', 'write'))).rejects.toMatchObject({
      code: 'upstream_rate_limited',
      details: { retryAfterSeconds: 2 },
    });
    expect(api.received).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('UP-03 a 503 to a POST is returned as is, never retried', async () => {
    script([503], [503]);
    const response = await client.send(call('POST', 'write'));
    expect(response.status).toBe(503);
    expect(api.received).toHaveLength(1);
  });

  it('UP-03 a timeout of a POST is not retried', async () => {
    api.handle(() => new Promise(() => {}));
    await expect(client.send(call('POST', 'write', { timeoutMs: 200 }))).rejects.toMatchObject({
      code: 'upstream_timeout',
    });
    expect(api.received).toHaveLength(1);
  });

  it('UP-03 a GET the operator marked as a write is not retried after a 503', async () => {
    script([503], [503]);
    expect((await client.send(call('GET', 'write'))).status).toBe(503);
    expect(api.received).toHaveLength(1);
  });

  it('a 502 on a safe GET is retried with jittered backoff and then succeeds', async () => {
    script([502]);
    expect((await client.send(call('GET', 'safe'))).status).toBe(200);
    expect(api.received).toHaveLength(2);
    expect(sleeps).toEqual([100]);
  });

  it('a 503 on an idempotent PUT is retried at most twice, then returned', async () => {
    script([503], [503], [503], [503]);
    expect((await client.send(call('PUT', 'write'))).status).toBe(503);
    expect(api.received).toHaveLength(3);
    expect(sleeps).toEqual([100, 200]);
  });

  it('a 4xx other than 429 is returned without a retry', async () => {
    script([404]);
    expect((await client.send(call('GET', 'safe'))).status).toBe(404);
    expect(api.received).toHaveLength(1);
  });

  it('a refused connection (nothing sent) is retried even for a POST', async () => {
    const closed = await freePort();
    let attempts = 0;
    const counting: UpstreamClient = {
      send: (c) => {
        attempts++;
        return inner.send(c);
      },
      close: async () => {},
      abort: async () => {},
    };
    const retrying = createRetryingUpstream(counting, { clock, sleep: async () => {}, random: () => 0 });
    const origin = `http://127.0.0.1:${closed}`;
    await expect(
      retrying.send(call('POST', 'write', { url: new URL(`${origin}/items`), allowedOrigin: origin })),
    ).rejects.toMatchObject({ code: 'upstream_unreachable', details: { phase: 'connect' } });
    expect(attempts).toBe(3);
  });

  it('CB-01 through the client: 20 failing calls open the breaker; the next fails fast without a request', async () => {
    script(...Array.from({ length: 20 }, (): [number] => [500]));
    const breaker = createCircuitBreaker({ clock });
    const guarded = createRetryingUpstream(inner, { clock, breaker, sleep: async () => {} });
    for (let i = 0; i < 20; i++) expect((await guarded.send(call('POST', 'write'))).status).toBe(500);
    expect(api.received).toHaveLength(20);
    await expect(guarded.send(call('GET', 'safe'))).rejects.toMatchObject({
      code: 'circuit_open',
      details: { retryAfterSeconds: 30 },
    });
    expect(api.received).toHaveLength(20);
  });

  it("the client's cancellation ends a retry's wait at once (cancelled, no further attempt)", async () => {
    // Retry-After 10 s, the longest wait the client honours: ending in under a fifth of it is the cancellation.
    script([503, '10']);
    const waiting = createRetryingUpstream(inner, { clock });
    const cancellation = createCallCancellation();
    const started = performance.now();
    const sent = waiting.send(call('GET', 'safe', { cancellation }));
    setTimeout(() => cancelCall(cancellation, 'stopped'), 100);
    await expect(sent).rejects.toMatchObject({ code: 'cancelled' });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(api.received).toHaveLength(1);
    expect(cancellation.onCancel).toBeUndefined();
  });

  it('cancelled calls count neither as failures nor successes of the breaker', async () => {
    api.handle(() => {});
    const breaker = createCircuitBreaker({ clock });
    const guarded = createRetryingUpstream(inner, { clock, breaker, sleep: async () => {} });
    for (let i = 0; i < 20; i++) {
      const cancellation = createCallCancellation();
      const sent = guarded.send(call('GET', 'safe', { cancellation }));
      setTimeout(() => cancelCall(cancellation, 'stopped'), 5);
      await expect(sent).rejects.toMatchObject({ code: 'cancelled' });
    }
    script();
    expect((await guarded.send(call('GET', 'safe'))).status).toBe(200);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
