import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectInChromium } from '../support/connect-in-chromium.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { postMcp } from '../support/post-mcp.ts';
import { type LegacyMcpUpstream, startLegacyMcpUpstream } from '../support/start-mcp-upstream.ts';
import { type RunningOidcProvider, startOidcProvider } from '../support/start-oidc-provider.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 12, upstream auth: a remote MCP server protected by the MCP authorization spec, federated with
 * `auth: { type: oauth2 }` and nothing else. The server (official SDK, Streamable HTTP) answers 401 with
 * `resource_metadata`, serves RFC 9728 metadata naming a real authorization server (oidc-provider with dynamic
 * registration and resource indicators), and accepts only tokens that server issued for it. The gateway discovers,
 * registers, and a person connects in Chromium; then tools are listed and called, refreshed on expiry, and a
 * revoked grant answers `reauth_required`.
 */
const adminToken = 'admin-token-for-federation-oauth-0123456789';
const clientKey = 'gatehouse_sk_federation_oauth_agent_0123456789';
const scopes = ['notes:read', 'notes:write'];

const missing = chromiumMissing();

describe.skipIf(missing !== undefined)('federated MCP server protected by OAuth (discovery, registration)', () => {
  let as: RunningOidcProvider;
  let upstream: LegacyMcpUpstream;
  let unprotected: LegacyMcpUpstream;
  let gateway: TestGateway;
  let browser: RunningChromium;
  let resource = '';
  /** Every 401 the protected server answered. */
  let refused = 0;

  beforeAll(async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const metadataPath = '/.well-known/oauth-protected-resource/mcp';
    upstream = await startLegacyMcpUpstream(
      [
        {
          name: 'echo',
          description: 'Echoes text',
          inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
          call: (args) => ({ content: [{ type: 'text', text: `echo: ${String(args['text'])}` }] }),
        },
      ],
      {
        // Only a live access token the authorization server issued for this resource gets through.
        async accepts(authorization) {
          const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
          const found = token === undefined ? undefined : await as.provider.AccessToken.find(token);
          const ok = found !== undefined && !found.isExpired && found.aud === resource;
          if (!ok) refused++;
          return ok;
        },
        challenge: () => `Bearer resource_metadata="${new URL(upstream.url).origin}${metadataPath}"`,
        documents: () => ({
          [metadataPath]: { resource, authorization_servers: [as.issuer], scopes_supported: scopes },
        }),
      },
    );
    resource = upstream.url;
    as = await startOidcProvider({
      redirectUris: [`${publicUrl}/oauth/callback`],
      clientId: 'unused-static-client',
      clientSecret: 'unused-static-client-secret-0123456789',
      resource,
      resourceScopes: scopes,
      accessTokenTtl: 5,
      registration: true,
    });
    // A server that wants a token but publishes no protected resource metadata.
    unprotected = await startLegacyMcpUpstream([], 'a-token-nobody-can-discover-0123456789');
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
              // Nothing but the URL and the kind of auth: endpoints, scopes and the client are discovered.
              { id: 'notes', mcp: upstream.url, shared: true, auth: { type: 'oauth2', refreshMarginSeconds: 0 } },
              { id: 'broken', mcp: unprotected.url, shared: true, auth: { type: 'oauth2' } },
            ],
            toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none' }],
            clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
          },
        ],
      },
      { port },
    );
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await upstream?.close();
    await unprotected?.close();
    await as?.close();
  });

  async function admin(method: string, path: string, body?: unknown) {
    const response = await fetch(`${gateway.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const mcp = (method: string, params: Record<string, unknown>) =>
    postMcp(`${gateway.url}/mcp/acme/all`, clientKey, method, params);

  it('before any connection the server is unlisted (degraded) and nothing was registered', () => {
    const status = gateway.gateway.federation?.status() ?? [];
    expect(status.find((s) => s.service === 'notes')).toMatchObject({ state: 'degraded', tools: 0 });
    expect(as.hits.get('/reg') ?? 0).toBe(0);
  });

  it('a connect link discovers the authorization server, registers one client, and a person connects in Chromium', async () => {
    const created = await admin('POST', '/tenants/acme/connections', { service: 'notes', subject: 'shared' });
    expect(created.status).toBe(201);
    expect(as.hits.get('/reg')).toBe(1);
    // A second link reuses the stored registration.
    const again = await admin('POST', '/tenants/acme/connections', { service: 'notes', subject: 'shared' });
    expect(again.status).toBe(201);
    expect(as.hits.get('/reg')).toBe(1);

    const done = await connectInChromium(browser, created.body['authorizeUrl'] as string, 'federation-oauth-connect');
    const authorize = new URL(done.visited.find((u) => u.startsWith(`${as.issuer}/auth?`)) ?? 'http://x');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('resource')).toBe(resource);
    expect(authorize.searchParams.get('scope')?.split(' ')).toEqual(scopes);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${gateway.config.publicUrl}/oauth/callback`);
    expect(done.callbackStatus).toBe(200);
    // Finding: the page said "Connected notes for shared". It names whom the connection serves, in words.
    expect(done.text).toContain("Connected notes for everyone using acme's shared connection. You can close this tab.");
    expect(done.text).not.toContain('for shared');
    // The registration is in the vault, encrypted: no client id or secret in clear in the store.
    const client = await as.provider.Client.find(authorize.searchParams.get('client_id') ?? '');
    expect(client?.clientSecret).toBeTruthy();
    const stored = await gateway.adapters.store.secrets.get('acme', 'registration:notes', 'client');
    expect(Buffer.from(stored?.ciphertext ?? []).toString('latin1')).not.toContain(client?.clientSecret ?? '-');
  });

  it('lists the server tools at once after connecting and calls one with the token issued for the resource', async () => {
    expect(gateway.gateway.federation?.status().find((s) => s.service === 'notes')?.state).toBe('listed');
    const listed = await mcp('tools/list', {});
    expect(listed.result?.tools?.map((t) => t.name)).toContain('notes_echo');
    const called = await mcp('tools/call', { name: 'notes_echo', arguments: { text: 'hi' } });
    expect(called.result?.isError).toBeFalsy();
    expect(called.result?.content?.[0]?.text).toBe('echo: hi');
    const latest = as.tokenAnswers.at(-1)?.body ?? {};
    expect(upstream.calls.at(-1)?.authorization).toBe(`Bearer ${String(latest['access_token'])}`);
  });

  it('refreshes an expired access token and calls with the new one', async () => {
    const before = as.tokenAnswers.length;
    const old = upstream.calls.at(-1)?.authorization;
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const called = await mcp('tools/call', { name: 'notes_echo', arguments: { text: 'later' } });
    expect(called.result?.content?.[0]?.text).toBe('echo: later');
    expect(as.tokenAnswers.length).toBeGreaterThan(before);
    expect(as.tokenAnswers.at(-1)?.body['refresh_token']).toBeTruthy();
    const latest = String(as.tokenAnswers.at(-1)?.body['access_token']);
    expect(upstream.calls.at(-1)?.authorization).toBe(`Bearer ${latest}`);
    expect(upstream.calls.at(-1)?.authorization).not.toBe(old);
  }, 20_000);

  it('a grant revoked at the authorization server answers reauth_required, then a new connect link', async () => {
    const latest = as.tokenAnswers.at(-1)?.body ?? {};
    await (await as.provider.AccessToken.find(String(latest['access_token'])))?.destroy();
    await (await as.provider.RefreshToken.find(String(latest['refresh_token'])))?.destroy();
    const refusedBefore = refused;
    const called = await mcp('tools/call', { name: 'notes_echo', arguments: { text: 'revoked' } });
    expect(refused).toBeGreaterThan(refusedBefore);
    expect(called.result?.isError).toBe(true);
    const error = called.result?.structuredContent?.['error'] as { code: string; details: { connectUrl?: string } };
    expect(error.code).toBe('reauth_required');
    // The refresh found the grant gone: this first call already carries the link to connect again (finding: only
    // the next one had it), and so does every later call.
    expect(error.details.connectUrl).toMatch(/\/connect\/acme\./);
    const next = await mcp('tools/call', { name: 'notes_echo', arguments: { text: 'again' } });
    const link = next.result?.structuredContent?.['error'] as { code: string; details: { connectUrl?: string } };
    expect(link.code).toBe('reauth_required');
    expect(link.details.connectUrl).toMatch(/\/connect\/acme\./);
    const connections = (await admin('GET', '/tenants/acme/connections')).body['connections'] as {
      service: string;
      status: string;
    }[];
    expect(connections.find((c) => c.service === 'notes')?.status).toBe('needs_reauth');
  });

  it('a server without protected resource metadata: the connect link fails with an error naming the service', async () => {
    const created = await admin('POST', '/tenants/acme/connections', { service: 'broken', subject: 'shared' });
    expect(created.status).toBe(502);
    expect(JSON.stringify(created.body)).toContain('oauth_discovery_failed');
    expect(JSON.stringify(created.body)).toContain('Service broken');
    expect(JSON.stringify(created.body)).toContain('publishes no protected resource metadata');
  });
});
