import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectUrlElicitingClient, type Elicited } from '../support/connect-mcp-clients.ts';
import { freePort } from '../support/free-port.ts';
import { seedOAuthConnection } from '../support/seed-oauth-connection.ts';
import { type FakeRefreshServer, oauth2AuthOf, startFakeRefreshServer } from '../support/start-fake-refresh-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Finding connect_link_no_elicitation_2026: a 2026-07-28 request that declares URL elicitation got a connect link
 * only as the plain tool error (`connection_required` / `reauth_required`), while approvals on that era already
 * answer `input_required` with one `elicitation/create` (mode `url`) that the SDK client shows and retries. The
 * 2025-era `-32042` of the same links is test/e2e/reauth-first-call-link; this suite mirrors it for 2026-07-28 with
 * the official 2.x SDK client, a real gateway and the fake authorization server of test/support. "The person
 * connects" is the link opening the consent at the authorization server, then the connection stored as the
 * completed consent would store it (seedOAuthConnection: the fake server has no consent page).
 */
const description = fileURLToPath(new URL('../fixtures/fleet-oauth.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-connect-elicit-2026-0123456789';
const keys = {
  fresh: 'gatehouse_sk_connect_elicit_fresh_0123456789',
  revoked: 'gatehouse_sk_connect_elicit_revoked_012345678',
  waiting: 'gatehouse_sk_connect_elicit_waiting_012345678',
  declines: 'gatehouse_sk_connect_elicit_declines_01234567',
};

let as: FakeRefreshServer;
let gateway: TestGateway;
const seeded = new Map<string, { accessToken: string; refreshToken: string }>();

beforeAll(async () => {
  as = await startFakeRefreshServer();
  const port = await freePort();
  gateway = await startTestGateway(
    {
      adminToken,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      // This suite tests the protocol flow, not who opens a link (test/e2e/connect-link-binding): links open alone.
      connectLinks: { unsafeLinkAloneConnects: true },
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'res', openapi: description, baseUrl: as.url, auth: oauth2AuthOf(as, ['read']) }],
          toolsets: [{ id: 'reader', tools: ['*'], access: 'read' }],
          clientKeys: Object.entries(keys).map(([subject, key]) => ({
            name: subject,
            key,
            toolsets: ['reader'],
            subject,
          })),
        },
      ],
    },
    { port },
  );
  seeded.set(
    'revoked',
    await seedOAuthConnection(gateway.adapters, as, {
      tenantId: 'acme',
      id: 'c-revoked',
      service: 'res',
      subject: 'revoked',
      accessExpiresAt: Date.now() - 1_000,
    }),
  );
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await as?.close();
});

/** A 2026-07-28 client of `key` declaring URL elicitation, whose user does `onElicit` when asked. */
function modernClient(
  key: string,
  onElicit: (request: Elicited) => Promise<'accept' | 'decline' | 'cancel'>,
  maxRounds = 3,
): Promise<Client> {
  return connectUrlElicitingClient(`${gateway.url}/mcp/acme/reader`, key, onElicit, {
    maxRounds,
    name: 'connect-elicitation-test',
  });
}

/** The person opens the link: the gateway sends the browser to the consent of the fake authorization server. */
async function openLink(url: string): Promise<void> {
  const opened = await fetch(url, { redirect: 'manual' });
  expect([302, 303]).toContain(opened.status);
  const location = new URL(opened.headers.get('location') ?? 'http://x');
  expect(`${location.origin}${location.pathname}`).toBe(`${as.url}/authorize`);
}

const connectLink = () => new RegExp(`^${gateway.url}/connect/acme\\.[^?]+\\?sig=`);
const errorOf = (result: { structuredContent?: unknown }) =>
  (result.structuredContent as { error?: { code: string } } | undefined)?.error;

describe('connect_link_no_elicitation_2026: connect links as input_required on 2026-07-28', () => {
  it('connection_required: the client is asked to open the connect link; the person connects; the retry runs the call', async () => {
    const asked: Elicited[] = [];
    const client = await modernClient(keys.fresh, async (request) => {
      asked.push(request);
      await openLink(request.url);
      seeded.set(
        'fresh',
        await seedOAuthConnection(gateway.adapters, as, {
          tenantId: 'acme',
          id: 'c-fresh',
          service: 'res',
          subject: 'fresh',
          accessExpiresAt: Date.now() + 3_600_000,
        }),
      );
      return 'accept';
    });
    try {
      const result = await client.callTool({ name: 'res_getResource', arguments: {} });
      expect(result.isError).toBeFalsy();
      expect(JSON.stringify(result)).toContain('"ok":true');
      expect(asked).toHaveLength(1);
      expect(asked[0]?.mode).toBe('url');
      expect(asked[0]?.url).toMatch(connectLink());
      // The tool error's own words: the service, whose connection, who must open the link.
      expect(asked[0]?.message).toContain('Service res is not connected for');
      expect(asked[0]?.message).toContain('Ask the user to open');
      expect(JSON.stringify(result)).not.toContain(seeded.get('fresh')?.accessToken ?? '-');
    } finally {
      await client.close();
    }
  });

  it('reauth_required (a refresh refused with invalid_grant): asked to reconnect; once reconnected the retry runs', async () => {
    as.revokeFamilyOf(seeded.get('revoked')?.refreshToken ?? '');
    const asked: Elicited[] = [];
    const client = await modernClient(keys.revoked, async (request) => {
      asked.push(request);
      await openLink(request.url);
      await seedOAuthConnection(gateway.adapters, as, {
        tenantId: 'acme',
        id: 'c-revoked',
        service: 'res',
        subject: 'revoked',
        accessExpiresAt: Date.now() + 3_600_000,
      });
      return 'accept';
    });
    try {
      const result = await client.callTool({ name: 'res_getResource', arguments: {} });
      expect(result.isError).toBeFalsy();
      expect(asked).toHaveLength(1);
      expect(asked[0]?.url).toMatch(connectLink());
      expect(asked[0]?.message).toContain('The connection to res for');
      expect(asked[0]?.message).toContain('must be authorised again');
    } finally {
      await client.close();
    }
  });

  it('accepting without connecting asks again, bounded by the client’s rounds; nothing reaches the upstream', async () => {
    let rounds = 0;
    const links = new Set<string>();
    const client = await modernClient(keys.waiting, async (request) => {
      rounds++;
      links.add(request.url);
      return 'accept';
    });
    const rejectedBefore = as.rejectedResourceCalls();
    try {
      await expect(client.callTool({ name: 'res_getResource', arguments: {} })).rejects.toThrow(/rounds|input/i);
      expect(rounds).toBe(3);
      // Each round mints a fresh single-use link.
      expect(links.size).toBe(3);
      expect(as.rejectedResourceCalls()).toBe(rejectedBefore);
      expect(await gateway.adapters.store.connections.find('acme', 'res', 'waiting')).toBeUndefined();
    } finally {
      await client.close();
    }
  });

  for (const [action, done] of [
    ['decline', 'declined'],
    ['cancel', 'cancelled'],
  ] as const) {
    it(`a ${done} elicitation ends the call with the original connection_required error`, async () => {
      let rounds = 0;
      const client = await modernClient(keys.declines, async () => {
        rounds++;
        return action;
      });
      try {
        const result = await client.callTool({ name: 'res_getResource', arguments: {} });
        expect(result.isError).toBe(true);
        expect(errorOf(result)).toMatchObject({ code: 'connection_required' });
        // The tool error still carries a link the agent can hand on later.
        expect(String((errorOf(result) as { details?: { connectUrl?: unknown } }).details?.connectUrl)).toMatch(
          connectLink(),
        );
        expect(rounds).toBe(1);
      } finally {
        await client.close();
      }
    });
  }
});
