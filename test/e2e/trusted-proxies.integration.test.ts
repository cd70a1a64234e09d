import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchFromAddress } from '../support/fetch-from-address.ts';
import { freePort } from '../support/free-port.ts';
import { type Balancer, startHaproxy } from '../support/start-fleet.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Finding address_budget_behind_proxy (issue 13): behind a reverse proxy or balancer every request came from the
 * proxy's address, so the per-address budgets (30 wrong admin tokens a minute, 20 sign-in attempts) were the
 * proxy's: one guesser's 30 wrong tokens locked every operator of the fleet out of the admin API. With
 * `trustedProxies`, a request from a listed proxy is counted against the client its `X-Forwarded-For` names; a
 * request from anyone else is counted against its own address whatever the header says.
 *
 * Linux routes all of 127.0.0.0/8 to `lo`: 127.0.3.1 plays the proxy, 127.0.3.2 a client that reaches the gateway
 * directly, and the HAProxy suite's clients come from 127.0.4.x through a real HAProxy on 127.0.0.1.
 */
const adminToken = 'admin-token-for-tests-0123456789';
const proxy = '127.0.3.1';
const directClient = '127.0.3.2';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({ adminToken, trustedProxies: [proxy, '10.0.0.0/8'] });
});

afterAll(async () => {
  await gateway?.close();
});

const adminFrom = (localAddress: string, token: string, forwardedFor?: string) =>
  fetchFromAddress(localAddress, `${gateway.url}/api/v1/tenants`, {
    headers: {
      authorization: `Bearer ${token}`,
      ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
    },
  });

describe('per-address budgets behind a trusted proxy', () => {
  it('address_budget_behind_proxy: a guesser behind the proxy exhausts its own budget, not that of another client behind the same proxy', async () => {
    for (let i = 0; i < 30; i++) expect((await adminFrom(proxy, `guess-${i}`, '198.51.100.7')).status).toBe(401);
    expect((await adminFrom(proxy, 'guess-30', '198.51.100.7')).status).toBe(429);
    expect((await adminFrom(proxy, adminToken, '198.51.100.7')).status).toBe(429);
    // The operator behind the same proxy, and its wrong token is counted as its own.
    expect((await adminFrom(proxy, adminToken, '198.51.100.8')).status).toBe(200);
    expect((await adminFrom(proxy, 'typo', '198.51.100.8')).status).toBe(401);
    // Through a chain of trusted proxies (10.0.0.0/8 is listed), the client is the right-most untrusted address.
    expect((await adminFrom(proxy, adminToken, '198.51.100.7, 10.1.2.3')).status).toBe(429);
    expect((await adminFrom(proxy, adminToken, '198.51.100.7, 198.51.100.9, 10.1.2.3')).status).toBe(200);
    // What the client put left of what the proxy appended is not read: the guesser cannot pose as the operator.
    expect((await adminFrom(proxy, adminToken, '198.51.100.8, 198.51.100.7')).status).toBe(429);
  });

  it('address_budget_behind_proxy: a client that is not a trusted proxy gets no new budget by sending X-Forwarded-For', async () => {
    for (let i = 0; i < 30; i++) {
      expect((await adminFrom(directClient, `guess-${i}`, `203.0.113.${i + 1}`)).status).toBe(401);
    }
    expect((await adminFrom(directClient, 'guess-30', '203.0.113.100')).status).toBe(429);
    expect((await adminFrom(directClient, adminToken, '203.0.113.200')).status).toBe(429);
    expect((await adminFrom(directClient, adminToken)).status).toBe(429);
  });

  it('address_budget_behind_proxy: operator sign-in attempts behind the proxy count against each client, not the proxy', async () => {
    const csrf = 'form-csrf-value-0123456789';
    const signIn = (forwardedFor: string) =>
      fetchFromAddress(proxy, `${gateway.url}/operator/signin`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: `gatehouse_operator_form=${csrf}`,
          'x-forwarded-for': forwardedFor,
        },
        body: new URLSearchParams({ csrf, adminToken: 'not-the-admin-token', return: '/console' }).toString(),
      });
    for (let i = 0; i < 20; i++) expect((await signIn('198.51.100.30')).status).toBe(401);
    expect((await signIn('198.51.100.30')).status).toBe(429);
    expect((await signIn('198.51.100.31')).status).toBe(401);
  });

  it('ipv6_rotation_bypasses_address_budget: a guesser with an IPv6 /64 (one host gets a whole /64) is one budget however many of its addresses it uses; another /64 keeps its own', async () => {
    // Every attempt from another address of the same /64: before, each was a fresh budget (31 of 31 got 401).
    for (let i = 0; i < 30; i++) {
      expect((await adminFrom(proxy, `guess-${i}`, `2001:db8:7:1::${(i + 1).toString(16)}`)).status).toBe(401);
    }
    expect((await adminFrom(proxy, 'guess-30', '2001:db8:7:1:ffff:ffff:ffff:fffe')).status).toBe(429);
    expect((await adminFrom(proxy, adminToken, '2001:DB8:7:1:0:0:0:99')).status).toBe(429);
    // The neighbouring /64 is someone else.
    expect((await adminFrom(proxy, adminToken, '2001:db8:7:2::1')).status).toBe(200);
  });

  it('address_budget_behind_proxy: a malformed X-Forwarded-For from the proxy falls back to the proxy address, never an error', async () => {
    for (const header of ['', ' , ', 'not-an-address', '198.51.100.20:443', '[2001:db8::1]', 'unknown', '10.0.0.1,,']) {
      const answer = await adminFrom(proxy, adminToken, header);
      expect(answer.status, JSON.stringify(header)).toBe(200);
    }
  });
});

const haproxyInstalled = (() => {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!haproxyInstalled && process.env['CI'] !== 'true')(
  'behind HAProxy as docs/operations.md configures it',
  () => {
    let behind: TestGateway;
    let balancer: Balancer;
    let dir: string;

    beforeAll(async () => {
      behind = await startTestGateway({ adminToken, trustedProxies: ['127.0.0.1'] });
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-haproxy-'));
      balancer = await startHaproxy(dir, await freePort(), new Map([['g1', Number(new URL(behind.url).port)]]));
    });

    afterAll(async () => {
      await balancer?.close();
      await behind?.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    const viaBalancer = (from: string, token: string, headers: Record<string, string> = {}) =>
      fetchFromAddress(from, `${balancer.url}/api/v1/tenants`, {
        headers: { authorization: `Bearer ${token}`, ...headers },
      });

    it('address_budget_behind_proxy: clients behind HAProxy (option forwardfor) keep their own budgets; a forged header changes nothing', async () => {
      const guesser = '127.0.4.1';
      for (let i = 0; i < 30; i++) {
        // A forged header of its own: HAProxy appends the real address after it, and that is the one counted.
        expect((await viaBalancer(guesser, `guess-${i}`, { 'x-forwarded-for': `192.0.2.${i + 1}` })).status).toBe(401);
      }
      expect((await viaBalancer(guesser, 'guess-30', { 'x-forwarded-for': '192.0.2.100' })).status).toBe(429);
      expect((await viaBalancer(guesser, adminToken, { 'x-forwarded-for': '192.0.2.200' })).status).toBe(429);
      expect((await viaBalancer('127.0.4.2', adminToken)).status).toBe(200);
    });
  },
);
