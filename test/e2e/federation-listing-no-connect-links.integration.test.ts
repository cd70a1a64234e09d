import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectLinkRecord } from '../../src/store/index.ts';
import { seedOAuthConnection } from '../support/seed-oauth-connection.ts';
import { type FakeRefreshServer, oauth2AuthOf, startFakeRefreshServer } from '../support/start-fake-refresh-server.ts';
import { type LegacyMcpUpstream, startLegacyMcpUpstream } from '../support/start-mcp-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Finding (issue 12, federation): the background listing of a federated server behind OAuth resolved its `shared`
 * connection's credential the way a tool call does, so a connection that needs re-authorisation made every listing
 * (at start, after each failure, on each `list_changed`) mint a connect link that nobody sees: stored, signed, and
 * dropped. The link belongs to a request a person sees (a tool call answers with it). Two services whose shared
 * connection is unusable are listed at start: one already `needs_reauth`, one whose refresh the authorization
 * server refuses with `invalid_grant` during that listing. The store's connect-link inserts are counted.
 */
const tenantId = 'acme';
const masterKey = randomBytes(32).toString('base64');
let dataDir: string;
let as: FakeRefreshServer;
let upstream: LegacyMcpUpstream;
let gateway: TestGateway | undefined;
/** Connect links stored by the gateway under test. */
const links: ConnectLinkRecord[] = [];

function configOf(): Record<string, unknown> {
  const auth = oauth2AuthOf(as, ['read']);
  return {
    masterKey,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: tenantId,
        services: [
          { id: 'stale', mcp: upstream.url, shared: true, auth },
          { id: 'revoked', mcp: upstream.url, shared: true, auth },
        ],
        toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none' }],
        clientKeys: [{ name: 'agent', key: 'gatehouse_sk_listing_links_0123456789abcdef', toolsets: ['all'] }],
      },
    ],
  };
}

beforeAll(async () => {
  as = await startFakeRefreshServer();
  upstream = await startLegacyMcpUpstream([
    {
      name: 'echo',
      description: 'Echoes text',
      inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
      call: (args) => ({ content: [{ type: 'text', text: String(args['text']) }] }),
    },
  ]);
  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-listing-links-'));
  const store = `sqlite:${join(dataDir, 'gatehouse.db')}`;
  // A first process stores the shared connections (as consents would), then stops.
  const seeding = await startTestGateway(configOf(), { store });
  await seedOAuthConnection(seeding.adapters, as, {
    tenantId,
    id: 'c-stale',
    service: 'stale',
    subject: 'shared',
    accessExpiresAt: Date.now() + 3_600_000,
    scopes: ['read'],
  });
  await seeding.adapters.store.connections.setStatus(tenantId, 'c-stale', 'needs_reauth', Date.now());
  const revoked = await seedOAuthConnection(seeding.adapters, as, {
    tenantId,
    id: 'c-revoked',
    service: 'revoked',
    subject: 'shared',
    accessExpiresAt: Date.now() - 1_000,
    scopes: ['read'],
  });
  as.revokeFamilyOf(revoked.refreshToken);
  await seeding.close();
  // The process under test lists both services at start.
  gateway = await startTestGateway(configOf(), {
    store,
    serveWith: (adapters) => {
      const connectFlow = adapters.store.connectFlow;
      return {
        ...adapters,
        store: {
          ...adapters.store,
          connectFlow: {
            ...connectFlow,
            async insertLink(record) {
              links.push(record);
              await connectFlow.insertLink(record);
            },
          },
        },
      };
    },
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await as?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('the background listing of a federated server whose shared connection needs re-authorisation', () => {
  it('listing_mints_connect_links: mints no connect link; the service is degraded and says why', async () => {
    const status = gateway?.gateway.federation?.status() ?? [];
    const of = (service: string) => status.find((s) => s.service === service);
    expect([of('stale')?.state, of('revoked')?.state]).toEqual(['degraded', 'degraded']);
    expect(of('stale')?.problem).toMatch(/stale .*authorised again/);
    // The status (readyz, admin API) names no link either.
    expect(JSON.stringify(status)).not.toContain('/connect/');
    // The listing did try the refresh: the grant is gone, the connection now needs re-authorisation too.
    expect(as.isFamilyRevoked(as.sentRefreshTokens().at(-1) ?? '')).toBe(true);
    expect((await gateway?.adapters.store.connections.get(tenantId, 'c-revoked'))?.status).toBe('needs_reauth');
    expect(of('revoked')?.problem).toBeDefined();
    expect(links.map((link) => link.service)).toEqual([]);
  });
});
