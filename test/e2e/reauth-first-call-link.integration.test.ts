import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { postMcp } from '../support/post-mcp.ts';
import { seedOAuthConnection } from '../support/seed-oauth-connection.ts';
import { type FakeRefreshServer, oauth2AuthOf, startFakeRefreshServer } from '../support/start-fake-refresh-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Finding (issues 11/12 closing note): "After a refresh ends in `invalid_grant`, that first call answers
 * `reauth_required` without a connect link (only the next one has it; every OAuth service)." The call that finds
 * the grant gone must already carry the link, so the agent can hand it to the person at once: in the tool error's
 * `details.connectUrl`, and as the URL elicitation of a client that declares it. Both ways a refresh happens are
 * covered: ahead of expiry (the credential step) and after the upstream answered 401 (the send step's forced
 * refresh). The authorization server is the fake one of test/support (rotation, revocation); the upstream is its
 * protected resource, which accepts only its live access tokens.
 */
const description = fileURLToPath(new URL('../fixtures/fleet-oauth.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-reauth-link-tests-0123456789';
const keys = {
  expired: 'gatehouse_sk_reauth_link_expired_0123456789',
  revoked: 'gatehouse_sk_reauth_link_revoked_0123456789',
  elicit: 'gatehouse_sk_reauth_link_elicit_01234567890',
};
const urlElicitation = { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } };

let as: FakeRefreshServer;
let gateway: TestGateway;
const seeded = new Map<string, { accessToken: string; refreshToken: string }>();
/** The link the first refused call answered (test 1), opened in test 4. */
let firstLink = '';

beforeAll(async () => {
  as = await startFakeRefreshServer();
  const port = await freePort();
  gateway = await startTestGateway(
    {
      adminToken,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      // This suite tests the OAuth flow, not who opens a link (test/e2e/connect-link-binding): links open alone.
      connectLinks: { unsafeLinkAloneConnects: true },
      tenants: [
        {
          id: 'acme',
          services: [
            {
              id: 'res',
              openapi: description,
              baseUrl: as.url,
              auth: oauth2AuthOf(as, ['read']),
            },
          ],
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
  for (const subject of Object.keys(keys)) {
    seeded.set(
      subject,
      await seedOAuthConnection(gateway.adapters, as, {
        tenantId: 'acme',
        id: `c-${subject}`,
        service: 'res',
        subject,
        // `expired`: the credential step refreshes first; the others hold a live token the upstream checks.
        accessExpiresAt: subject === 'expired' ? Date.now() - 1_000 : Date.now() + 3_600_000,
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await as?.close();
});

const call = (key: string, meta?: Record<string, unknown>) =>
  postMcp(`${gateway.url}/mcp/acme/reader`, key, 'tools/call', {
    name: 'res_getResource',
    arguments: {},
    ...(meta === undefined ? {} : { _meta: meta }),
  });

type ToolError = { code: string; message: string; details: Record<string, unknown> };
const errorOf = (answer: Awaited<ReturnType<typeof call>>) => answer.result?.structuredContent?.['error'] as ToolError;

async function statusOf(id: string): Promise<string | undefined> {
  return (await gateway.adapters.store.connections.get('acme', id))?.status;
}

describe('after a refresh ends in invalid_grant, the first call carries the connect link', () => {
  it('a refresh ahead of expiry refused with invalid_grant: the first call answers reauth_required with a link', async () => {
    as.revokeFamilyOf(seeded.get('expired')?.refreshToken ?? '');
    const first = await call(keys.expired);
    expect(first.result?.isError).toBe(true);
    const error = errorOf(first);
    expect(error.code).toBe('reauth_required');
    expect(await statusOf('c-expired')).toBe('needs_reauth');
    expect(error.details['connectUrl']).toMatch(new RegExp(`^${gateway.url}/connect/acme\\.[^?]+\\?sig=`));
    expect(error.message).toContain(String(error.details['connectUrl']));
    expect(Date.parse(String(error.details['expiresAt']))).toBeGreaterThan(Date.now());
    firstLink = String(error.details['connectUrl']);
    expect(JSON.stringify(first)).not.toContain(seeded.get('expired')?.refreshToken ?? '-');
  });

  it('an upstream 401 whose forced refresh is refused with invalid_grant: the first call answers with a link', async () => {
    const tokens = seeded.get('revoked');
    as.revokeFamilyOf(tokens?.refreshToken ?? '');
    const before = as.rejectedResourceCalls();
    const first = await call(keys.revoked);
    // The upstream refused the access token once; the forced refresh then found the grant gone.
    expect(as.rejectedResourceCalls()).toBe(before + 1);
    const error = errorOf(first);
    expect(error.code).toBe('reauth_required');
    expect(await statusOf('c-revoked')).toBe('needs_reauth');
    expect(error.details['connectUrl']).toMatch(new RegExp(`^${gateway.url}/connect/acme\\.[^?]+\\?sig=`));
    const text = JSON.stringify(first);
    for (const secret of [tokens?.accessToken, tokens?.refreshToken, as.clientSecret]) {
      expect(text).not.toContain(secret ?? '-');
    }
  });

  it('a client that declares URL elicitation gets the link as a -32042 elicitation on that first call', async () => {
    as.revokeFamilyOf(seeded.get('elicit')?.refreshToken ?? '');
    const first = await call(keys.elicit, urlElicitation);
    expect(first.error?.code).toBe(-32042);
    const elicitation = (first.error?.data as { elicitations?: { mode: string; url: string; message: string }[] })
      ?.elicitations?.[0];
    expect(elicitation?.mode).toBe('url');
    expect(elicitation?.url).toMatch(new RegExp(`^${gateway.url}/connect/acme\\.[^?]+\\?sig=`));
    // The tool error's words: the service, whose connection, and who must open the link (here anyone holding it).
    expect(elicitation?.message).toContain('The connection to res for elicit must be authorised again');
    expect(elicitation?.message).toContain('Ask the user to open');
    expect(await statusOf('c-elicit')).toBe('needs_reauth');
  });

  it('the link of the first call opens the consent at the authorization server for the same subject', async () => {
    const opened = await fetch(firstLink, { redirect: 'manual' });
    expect([302, 303]).toContain(opened.status);
    const location = new URL(opened.headers.get('location') ?? 'http://x');
    expect(`${location.origin}${location.pathname}`).toBe(`${as.url}/authorize`);
    expect(location.searchParams.get('client_id')).toBe(as.clientId);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
  });
});
