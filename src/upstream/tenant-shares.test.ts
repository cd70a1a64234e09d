import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cancelCall, createCallCancellation } from '../core/index.ts';
import { createUpstreamClient, type UpstreamCall } from './create-upstream-client.ts';

/**
 * A real upstream on 127.0.0.1: `/slow` answers after 400 ms, `/held` when the test calls `releaseHeld()`,
 * anything else at once; counts calls in flight.
 */
let url = '';
let inFlight = 0;
let mostInFlight = 0;
const held: (() => void)[] = [];
let holding = true;
const answer = (res: ServerResponse) => {
  inFlight--;
  res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
};
const server = createServer((req, res) => {
  inFlight++;
  mostInFlight = Math.max(mostInFlight, inFlight);
  if (req.url === '/held' && holding) held.push(() => answer(res));
  else setTimeout(() => answer(res), req.url === '/slow' ? 400 : 0);
});
/** Answers the held calls, and every later `/held` call at once. */
const releaseHeld = () => {
  holding = false;
  for (const release of held.splice(0)) release();
};

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  holding = true;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const call = (tenant: string, path: string): UpstreamCall => ({
  tenant,
  service: 'api',
  method: 'GET',
  url: new URL(`${url}${path}`),
  headers: {},
  timeoutMs: 10_000,
  connectTimeoutMs: 2_000,
  maxResponseBytes: 1_000,
  allowedOrigin: url,
});

/** What `promise` settles to within 5 s, or 'waited': the machine's speed, not a bound of the code under test. */
const within5s = <T>(promise: Promise<T>) =>
  Promise.race([promise, new Promise<'waited'>((resolve) => setTimeout(resolve, 5_000, 'waited'))]);

describe('createUpstreamClient() shares of an origin between tenants', () => {
  it('MT-08 (review finding 5b) a tenant saturating a host leaves another tenant a connection at once', async () => {
    const client = createUpstreamClient({
      allowPrivateHosts: ['127.0.0.1'],
      connectionsPerOrigin: 4,
      connectionsPerTenant: 1,
    });
    try {
      mostInFlight = 0;
      // A's calls are held by the upstream until the test releases them, so no timing decides what follows.
      const slow = Array.from({ length: 12 }, () => client.send(call('a', '/held')));
      await expect.poll(() => held.length).toBe(3);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // Alone, tenant A may use the pool less the one connection kept for others.
      expect(mostInFlight).toBe(3);
      // Before the shares, B's call queued behind A's held calls: it could not end before they were released.
      expect(await within5s(client.send(call('b', '/quick')).then((answer) => answer.status))).toBe(200);
      expect(held).toHaveLength(3);
      releaseHeld();
      expect((await Promise.all(slow)).every((answer) => answer.status === 200)).toBe(true);
      expect(mostInFlight).toBeLessThanOrEqual(4);
    } finally {
      releaseHeld();
      await client.close();
    }
  });

  it('MT-08 a call waiting for its share still ends at its total timeout', async () => {
    const client = createUpstreamClient({
      allowPrivateHosts: ['127.0.0.1'],
      connectionsPerOrigin: 2,
      connectionsPerTenant: 1,
    });
    try {
      const busy = client.send(call('a', '/held'));
      await expect.poll(() => held.length).toBe(1);
      // Pool 2 with 1 kept for others: A's second call waits, and its 100 ms budget runs out while waiting.
      await expect(client.send({ ...call('a', '/slow'), timeoutMs: 100 })).rejects.toMatchObject({
        code: 'upstream_timeout',
      });
      releaseHeld();
      await busy;
    } finally {
      releaseHeld();
      await client.close();
    }
  });

  it('MT-08 calls that left the queue (timeout, cancellation) hold no slot; the others are admitted in order', async () => {
    const client = createUpstreamClient({
      allowPrivateHosts: ['127.0.0.1'],
      connectionsPerOrigin: 2,
      connectionsPerTenant: 1,
    });
    try {
      mostInFlight = 0;
      // Alone on a pool of 2 with 1 kept for others, tenant A has one call in flight; the rest queue.
      const busy = client.send(call('a', '/held'));
      await expect.poll(() => held.length).toBe(1);
      const order: string[] = [];
      const timedOut = client.send({ ...call('a', '/slow'), timeoutMs: 100 });
      const cancellation = createCallCancellation();
      const cancelled = client.send({ ...call('a', '/slow'), cancellation });
      const queued = ['first', 'second', 'third'].map((name) =>
        client.send(call('a', '/quick')).then(() => order.push(name)),
      );
      cancelCall(cancellation, 'stopped');
      await expect(cancelled).rejects.toMatchObject({ code: 'cancelled' });
      await expect(timedOut).rejects.toMatchObject({ code: 'upstream_timeout' });
      expect(order).toEqual([]);
      releaseHeld();
      await Promise.all([busy, ...queued]);
      expect(order).toEqual(['first', 'second', 'third']);
      expect(mostInFlight).toBe(1);
      // Every slot came back: a second tenant and A again each get one. A slot kept by a call that left would
      // never be given back, so such a call would wait for good.
      const both = Promise.all([client.send(call('b', '/quick')), client.send(call('a', '/quick'))]);
      expect(await within5s(both.then((answers) => answers.map((answer) => answer.status)))).toEqual([200, 200]);
    } finally {
      releaseHeld();
      await client.close();
    }
  });
});
