import { createHash, randomBytes } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import providerRequestStorage from 'oidc-provider/lib/helpers/als.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedFetch } from '../../src/auth-server/index.ts';
import { type Gateway, type GatewayUsers, registrationLimits } from '../../src/gateway/index.ts';
import { freePort } from '../support/free-port.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { type HttpsFixture, startHttpsFixture } from '../support/start-https-fixture.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const redirectUri = 'http://127.0.0.1:7777/callback';

/** End users of the test: the cookie `test_user=<id>` is a session of that user in tenant `acme`. */
const users: Pick<GatewayUsers, 'signedInUser'> = {
  async signedInUser(tenant, cookie) {
    const id = /(?:^|;\s*)test_user=([a-z0-9-]+)/.exec(cookie ?? '')?.[1];
    if (id === undefined || tenant !== 'acme') return undefined;
    return { id, tenant, name: id, displayName: id.toUpperCase() };
  },
};

let api: FakeApi;
let gateway: TestGateway;
let base: string;
/** Where Client ID Metadata Documents are served: HTTPS on 127.0.0.1 with a certificate made for this run. */
let documents: HttpsFixture;

beforeAll(async () => {
  api = await startFakeApi();
  documents = await startHttpsFixture();
  const port = await freePort();
  gateway = await startTestGateway(
    {
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'fake', openapi: description, baseUrl: api.url }],
          toolsets: [
            { id: 'reader', tools: ['fake_*'] },
            { id: 'other', tools: ['fake_*'] },
            { id: 'keys-only', tools: ['fake_*'], inbound: ['keys'] },
          ],
        },
        {
          id: 'globex',
          services: [{ id: 'fake', openapi: description, baseUrl: api.url }],
          toolsets: [{ id: 'reader', tools: ['fake_*'] }],
          oauthServer: { dynamicRegistration: false },
        },
      ],
    },
    {
      port,
      extendGateway: (g: Gateway) => ({ ...g, users: { ...(g.users as GatewayUsers), ...users } }),
      // The SSRF guard as production builds it, told (here only) to trust this run's CA and allow 127.0.0.1.
      clientMetadataFetch: createGuardedFetch({ allowPrivateHosts: ['127.0.0.1'], tls: { ca: documents.ca } }),
    },
  );
  base = gateway.url;
});

afterAll(async () => {
  await gateway?.close();
  await api?.close();
  await documents?.close();
});

/** A tiny cookie jar for the browser steps (the consent page itself is clicked in the Chromium suite). */
function createJar() {
  const cookies = new Map<string, string>();
  return {
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    take(response: Response) {
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = (pair ?? '').indexOf('=');
        if (eq > 0) cookies.set((pair as string).slice(0, eq), (pair as string).slice(eq + 1));
      }
    },
  };
}

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

async function register(tenant = 'acme', redirect = redirectUri, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await fetch(`${base}/oauth/${tenant}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      ...extra,
      redirect_uris: [redirect],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      client_name: 'Test MCP client',
    }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { client_id: string }).client_id;
}

/** Authorization request -> sign-in -> consent -> code, as a browser would follow it. */
async function authorize(
  clientId: string,
  options: { user?: string; resource?: string | null; toolset?: string; redirect?: string } = {},
) {
  const jar = createJar();
  const { verifier, challenge } = pkce();
  const redirect = options.redirect ?? redirectUri;
  const params = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirect,
    response_type: 'code',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'state-123',
    scope: 'mcp',
  });
  const resource =
    options.resource === undefined ? `${base}/mcp/acme/${options.toolset ?? 'reader'}` : options.resource;
  if (resource !== null) params.set('resource', resource);
  let response = await fetch(`${base}/oauth/acme/auth?${params}`, { redirect: 'manual' });
  jar.take(response);
  let location = response.headers.get('location') ?? '';
  const user = `test_user=${options.user ?? 'alice'}`;
  for (let hop = 0; hop < 6 && !location.startsWith(redirect); hop++) {
    const url = new URL(location, base);
    if (url.pathname.includes('/interaction/')) {
      response = await fetch(url, { headers: { cookie: `${jar.header()}; ${user}` }, redirect: 'manual' });
      jar.take(response);
      if (response.status === 200) {
        const page = await response.text();
        expect(page).toContain('Test MCP client');
        response = await fetch(url, {
          method: 'POST',
          headers: {
            cookie: `${jar.header()}; ${user}`,
            'content-type': 'application/x-www-form-urlencoded',
            origin: base,
          },
          body: 'decision=allow',
          redirect: 'manual',
        });
        jar.take(response);
      }
    } else {
      response = await fetch(url, { headers: { cookie: jar.header() }, redirect: 'manual' });
      jar.take(response);
    }
    location = response.headers.get('location') ?? '';
    if (process.env['DEBUG_AS'])
      console.log(hop, response.status, location, response.status >= 400 ? await response.text() : '');
  }
  return { callback: new URL(location), verifier, resource };
}

async function token(body: Record<string, string>) {
  const response = await fetch(`${base}/oauth/acme/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

async function signIn(clientId: string, toolset = 'reader', user = 'alice', redirect = redirectUri) {
  const { callback, verifier, resource } = await authorize(clientId, { toolset, user, redirect });
  const code = callback.searchParams.get('code') ?? '';
  const answer = await token({
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: redirect,
    client_id: clientId,
    resource: resource ?? '',
  });
  expect(answer.status).toBe(200);
  return answer.body;
}

const listTools = (toolset: string, bearer: string, tenant = 'acme') =>
  fetch(`${base}/mcp/${tenant}/${toolset}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${bearer}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });

async function securityEvents(event: string, tenant = 'acme') {
  const records = await gateway.adapters.store.audit.query({ tenantId: tenant, limit: 1000 });
  return records.filter((r) => r.kind === 'security' && r.event === event);
}

describe('Gatehouse as the OAuth authorization server of MCP clients', () => {
  it('advertises Protected Resource Metadata in the 401 and serves it and the AS metadata (RFC 9728, RFC 8414)', async () => {
    const denied = await listTools('reader', 'not-a-token');
    expect(denied.status).toBe(401);
    const challenge = denied.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp/acme/reader"`);
    expect(challenge).toContain('scope="mcp"');
    const keysOnly = await listTools('keys-only', 'not-a-token');
    expect(keysOnly.headers.get('www-authenticate')).not.toContain('resource_metadata');

    const prm = (await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp/acme/reader`)).json()) as Record<
      string,
      unknown
    >;
    expect(prm).toMatchObject({ resource: `${base}/mcp/acme/reader`, authorization_servers: [`${base}/oauth/acme`] });
    expect((await fetch(`${base}/.well-known/oauth-protected-resource/mcp/acme/keys-only`)).status).toBe(404);

    const metadata = (await (
      await fetch(`${base}/.well-known/oauth-authorization-server/oauth/acme`)
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: `${base}/oauth/acme`,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      registration_endpoint: `${base}/oauth/acme/reg`,
      token_endpoint: `${base}/oauth/acme/token`,
    });
    const globex = (await (await fetch(`${base}/.well-known/openid-configuration/oauth/globex`)).json()) as Record<
      string,
      unknown
    >;
    expect(globex['issuer']).toBe(`${base}/oauth/globex`);
    expect(globex['registration_endpoint']).toBeUndefined();
  });

  it('signs a user in, asks consent, and issues a token bound to the toolset (iss in the response, RFC 9207)', async () => {
    const clientId = await register();
    const { callback } = await authorize(clientId);
    expect(callback.searchParams.get('iss')).toBe(`${base}/oauth/acme`);
    expect(callback.searchParams.get('state')).toBe('state-123');
    const tokens = await signIn(clientId);
    expect(tokens['token_type']).toBe('Bearer');
    expect(tokens['refresh_token']).toBeTruthy();

    const listed = await listTools('reader', tokens['access_token'] as string);
    expect(listed.status).toBe(200);
    // RFC 8707: a token for toolset `reader` is refused at `other`, at a keys-only toolset and in another tenant.
    expect((await listTools('other', tokens['access_token'] as string)).status).toBe(401);
    expect((await listTools('keys-only', tokens['access_token'] as string)).status).toBe(401);
    expect((await listTools('reader', tokens['access_token'] as string, 'globex')).status).toBe(401);
    // Consents are remembered per user, client and toolset.
    const consents = await gateway.adapters.store.oauthServer.listConsents('acme', 'alice');
    expect(consents.map((c) => [c.clientId, c.toolset])).toContainEqual([clientId, 'reader']);
  });

  it('rotates refresh tokens and revokes the whole grant when an old one is reused', async () => {
    const clientId = await register();
    const first = await signIn(clientId);
    const resource = `${base}/mcp/acme/reader`;
    const second = await token({
      grant_type: 'refresh_token',
      refresh_token: first['refresh_token'] as string,
      client_id: clientId,
      resource,
    });
    expect(second.status).toBe(200);
    expect(second.body['refresh_token']).not.toBe(first['refresh_token']);
    expect((await listTools('reader', second.body['access_token'] as string)).status).toBe(200);
    const before = (await securityEvents('oauth_denied')).length;
    const reuse = await token({
      grant_type: 'refresh_token',
      refresh_token: first['refresh_token'] as string,
      client_id: clientId,
      resource,
    });
    expect(reuse.status).toBe(400);
    expect(reuse.body['error']).toBe('invalid_grant');
    expect(reuse.body['error_description']).toBeTruthy();
    await new Promise((r) => setTimeout(r, 300));
    expect((await securityEvents('oauth_denied')).length).toBe(before + 1);
    // The family is gone: the newest access and refresh tokens stop working.
    expect((await listTools('reader', second.body['access_token'] as string)).status).toBe(401);
    const after = await token({
      grant_type: 'refresh_token',
      refresh_token: second.body['refresh_token'] as string,
      client_id: clientId,
      resource,
    });
    expect(after.body['error']).toBe('invalid_grant');
  });

  it('revokes a token (RFC 7009)', async () => {
    const clientId = await register();
    const tokens = await signIn(clientId);
    const response = await fetch(`${base}/oauth/acme/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens['access_token'] as string, client_id: clientId }),
    });
    expect(response.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100)); // the verified-token cache (clientKeyCache.ttlSeconds, 1 s)
    expect((await listTools('reader', tokens['access_token'] as string)).status).toBe(401);
  });

  it('refuses bad authorization and token requests with the spec error and one security record each', async () => {
    const clientId = await register();
    const { challenge, verifier } = pkce();
    const authorizeWith = async (overrides: Record<string, string | null>) => {
      const params = new URLSearchParams({
        client_id: clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's',
        scope: 'mcp',
        resource: `${base}/mcp/acme/reader`,
      });
      for (const [k, v] of Object.entries(overrides))
        if (v === null) params.delete(k);
        else params.set(k, v);
      return fetch(`${base}/oauth/acme/auth?${params}`, { redirect: 'manual' });
    };
    const count = async () => (await securityEvents('oauth_denied')).length;
    /** Security records are appended in the background: wait for the one expected, then check no second came. */
    const settled = async (at: number) => {
      for (let i = 0; i < 40 && (await count()) < at; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 150));
      return count();
    };

    let before = await count();
    const wrongRedirect = await authorizeWith({ redirect_uri: 'http://127.0.0.1:7777/elsewhere' });
    expect(wrongRedirect.status).toBe(400); // never redirected to an unregistered URI
    expect(await wrongRedirect.text()).toContain('redirect_uri');
    expect(await settled(before + 1)).toBe(before + 1);

    before = await count();
    const noPkce = await authorizeWith({ code_challenge: null, code_challenge_method: null });
    expect(new URL(noPkce.headers.get('location') ?? '', base).searchParams.get('error')).toBe('invalid_request');
    expect(await settled(before + 1)).toBe(before + 1);

    before = await count();
    const plain = await authorizeWith({ code_challenge: verifier, code_challenge_method: 'plain' });
    expect(new URL(plain.headers.get('location') ?? '', base).searchParams.get('error')).toBe('invalid_request');
    expect(await settled(before + 1)).toBe(before + 1);

    before = await count();
    const foreign = await authorizeWith({ resource: 'https://evil.example/mcp' });
    expect(new URL(foreign.headers.get('location') ?? '', base).searchParams.get('error')).toBe('invalid_target');
    expect(await settled(before + 1)).toBe(before + 1);

    before = await count();
    const missing = await authorize(clientId, { resource: null });
    expect(missing.callback.searchParams.get('error')).toBe('invalid_request');
    expect(missing.callback.searchParams.get('error_description')).toContain('resource');
    expect(await settled(before + 1)).toBe(before + 1);

    // A code is single use.
    const { callback, verifier: v2 } = await authorize(clientId);
    const code = callback.searchParams.get('code') ?? '';
    const redeem = () =>
      token({
        grant_type: 'authorization_code',
        code,
        code_verifier: v2,
        redirect_uri: redirectUri,
        client_id: clientId,
        resource: `${base}/mcp/acme/reader`,
      });
    expect((await redeem()).status).toBe(200);
    before = await count();
    const again = await redeem();
    expect(again.body['error']).toBe('invalid_grant');
    expect(await settled(before + 1)).toBe(before + 1);
  });

  it('fetches a Client ID Metadata Document only through the SSRF guard: a private address is never connected to', async () => {
    // `localhost` resolves to 127.0.0.1; only the literal `127.0.0.1` is allowed (for the fake API), so the guard
    // refuses inside the connect lookup and the listener below sees no connection at all (allowing `localhost`
    // makes it see two: the fetch connects).
    let connections = 0;
    const listener = createNetServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    try {
      const clientId = `https://localhost:${port}/client.json`;
      const before = (await securityEvents('oauth_denied')).length;
      const { challenge } = pkce();
      const params = new URLSearchParams({
        client_id: clientId,
        redirect_uri: 'https://app.example/callback',
        response_type: 'code',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: `${base}/mcp/acme/reader`,
      });
      const response = await fetch(`${base}/oauth/acme/auth?${params}`, { redirect: 'manual' });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('invalid_client');
      expect(connections).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect((await securityEvents('oauth_denied')).length).toBe(before + 1);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it('serves Protected Resource Metadata at the root too (RFC 9728 §3), naming every tenant issuer', async () => {
    const response = await fetch(`${base}/.well-known/oauth-protected-resource`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const root = (await response.json()) as Record<string, unknown>;
    // The resource is the one the well-known suffix was inserted into: the gateway's public URL (RFC 9728 §3.3).
    expect(root['resource']).toBe(base);
    expect(root['authorization_servers']).toEqual([`${base}/oauth/acme`, `${base}/oauth/globex`]);
    expect(root['scopes_supported']).toEqual(['mcp']);
    expect(root['bearer_methods_supported']).toEqual(['header']);
  });

  it('accepts a loopback redirect URI on any port (RFC 8252 §7.3) and refuses another port elsewhere', async () => {
    // A native client registers its loopback callback without a port; the browser comes back on whichever port
    // the app listened on this time.
    const native = await register('acme', 'http://127.0.0.1/callback', { application_type: 'native' });
    const tokens = await signIn(native, 'reader', 'alice', 'http://127.0.0.1:54321/callback');
    expect((await listTools('reader', tokens['access_token'] as string)).status).toBe(200);
    const localhost = await register('acme', 'http://localhost:3000/oauth/callback', { application_type: 'native' });
    const { callback } = await authorize(localhost, { redirect: 'http://localhost:61234/oauth/callback' });
    expect(callback.searchParams.get('code')).toBeTruthy();

    // VS Code registers without application_type, its loopback URI beside https ones, and then uses a free port.
    const vscodeLike = await fetch(`${base}/oauth/acme/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Test MCP client (VS Code-like)',
        redirect_uris: ['https://vscode.dev/redirect', 'http://127.0.0.1/', 'http://127.0.0.1:33418/'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      }),
    });
    expect(vscodeLike.status).toBe(201);
    const vscode = (await vscodeLike.json()) as { client_id: string; application_type: string };
    expect(vscode.application_type).toBe('native');
    const busyPort = await authorize(vscode.client_id, { redirect: 'http://127.0.0.1:59656/' });
    expect(busyPort.callback.searchParams.get('code')).toBeTruthy();

    // Cursor (older desktop builds) registers a private-use scheme, also without application_type.
    const cursorLike = await register('acme', 'cursor://anysphere.cursor-mcp/oauth/callback');
    const cursorCode = await authorize(cursorLike, { redirect: 'cursor://anysphere.cursor-mcp/oauth/callback' });
    expect(cursorCode.callback.searchParams.get('code')).toBeTruthy();

    const refused = async (clientId: string, redirect: string) => {
      const { challenge } = pkce();
      const params = new URLSearchParams({
        client_id: clientId,
        redirect_uri: redirect,
        response_type: 'code',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: `${base}/mcp/acme/reader`,
      });
      const response = await fetch(`${base}/oauth/acme/auth?${params}`, { redirect: 'manual' });
      expect(response.status).toBe(400); // never redirected: the URI is not the client's
      expect(response.headers.get('location')).toBeNull();
      return response.text();
    };
    // Only the port may differ: another path, or another host, is another URI.
    expect(await refused(native, 'http://127.0.0.1:54321/elsewhere')).toContain('redirect_uri');
    expect(await refused(native, 'http://127.0.0.2:54321/callback')).toContain('redirect_uri');
    // A non-loopback (web) redirect URI must match exactly, port included.
    const web = await register('acme', 'https://app.example:8443/callback');
    expect(await refused(web, 'https://app.example:9443/callback')).toContain('redirect_uri');
    expect(await refused(web, 'https://app.example/callback')).toContain('redirect_uri');
  });

  it("revoking a consent ends that client's access to that toolset as that user, and nothing else", async () => {
    const clientId = await register();
    const reader = await signIn(clientId, 'reader', 'carol');
    const other = await signIn(clientId, 'other', 'carol');
    const dave = await signIn(clientId, 'reader', 'dave');
    const consents = await gateway.adapters.store.oauthServer.listConsents('acme', 'carol');
    const consent = consents.find((c) => c.clientId === clientId && c.toolset === 'reader');
    expect(consent).toBeDefined();
    const server = gateway.gateway.oauthServer;
    await server?.revokeConsent(
      { id: 'carol', tenant: 'acme', name: 'carol', displayName: 'Carol' },
      consent?.id ?? '',
    );
    await new Promise((r) => setTimeout(r, 1_100)); // the verified-token cache (clientKeyCache.ttlMs, 1 s)

    // The access token and the refresh token of (carol, client, reader) are gone ...
    expect((await listTools('reader', reader['access_token'] as string)).status).toBe(401);
    const refresh = await token({
      grant_type: 'refresh_token',
      refresh_token: reader['refresh_token'] as string,
      client_id: clientId,
      resource: `${base}/mcp/acme/reader`,
    });
    expect(refresh.body['error']).toBe('invalid_grant');
    // ... the same client's access to another toolset, and another user's, are untouched.
    expect((await listTools('other', other['access_token'] as string)).status).toBe(200);
    expect((await listTools('reader', dave['access_token'] as string)).status).toBe(200);
    const left = await gateway.adapters.store.oauthServer.listConsents('acme', 'carol');
    expect(left.map((c) => c.toolset)).toEqual(['other']);
    const carols = async (detail: string) =>
      (await securityEvents('oauth_consent')).filter((r) => r.detail === detail && r.subject === 'carol').length;
    expect(await carols('revoked')).toBe(1);
    // The next authorization asks again: the consent page is shown (a new consent is recorded), not skipped.
    const granted = await carols('granted');
    const again = await authorize(clientId, { user: 'carol' });
    expect(again.callback.searchParams.get('code')).toBeTruthy();
    for (let i = 0; i < 40 && (await carols('granted')) === granted; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await carols('granted')).toBe(granted + 1);
  });

  it('signs in a client whose id is its metadata document URL (CIMD): fetched over HTTPS, cached per Cache-Control, redirect_uris exact', async () => {
    const clientId = `${documents.url}/clients/app.json`;
    documents.route('/clients/app.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
      res.end(
        JSON.stringify({
          client_id: clientId,
          client_name: 'Test MCP client (metadata document)',
          redirect_uris: [redirectUri],
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        }),
      );
    });
    const tokens = await signIn(clientId);
    expect((await listTools('reader', tokens['access_token'] as string)).status).toBe(200);
    const records = await gateway.adapters.store.oauthServer.listConsents('acme', 'alice');
    expect(records.find((c) => c.clientId === clientId)?.clientName).toBe('Test MCP client (metadata document)');
    const fetched = documents.hits.get('/clients/app.json');
    expect(fetched).toBeGreaterThanOrEqual(1);
    // Within max-age the document is not fetched again.
    await signIn(clientId, 'other');
    expect(documents.hits.get('/clients/app.json')).toBe(fetched);
    // Only the document's own redirect URIs, exactly.
    const { challenge } = pkce();
    const wrong = await fetch(
      `${base}/oauth/acme/auth?${new URLSearchParams({
        client_id: clientId,
        redirect_uri: 'http://127.0.0.1:7777/callback/other',
        response_type: 'code',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: `${base}/mcp/acme/reader`,
      })}`,
      { redirect: 'manual' },
    );
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get('location')).toBeNull();
  });

  it('refuses a metadata document whose client_id is not its URL, one too big, one too slow: invalid_client, one record each', async () => {
    const document = (clientId: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        client_id: clientId,
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: 'none',
        ...extra,
      });
    documents.route('/clients/liar.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(document(`${documents.url}/clients/app.json`));
    });
    documents.route('/clients/big.json', (_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(document(`${documents.url}/clients/big.json`, { client_name: 'x'.repeat(6 * 1024) }));
    });
    let slowTimer: NodeJS.Timeout | undefined;
    documents.route('/clients/slow.json', (_req, res) => {
      slowTimer = setTimeout(
        () =>
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(document(`${documents.url}/clients/slow.json`)),
        6_000,
      );
    });
    const count = async () => (await securityEvents('oauth_denied')).length;
    try {
      for (const name of ['liar', 'big', 'slow']) {
        const before = await count();
        const { challenge } = pkce();
        const response = await fetch(
          `${base}/oauth/acme/auth?${new URLSearchParams({
            client_id: `${documents.url}/clients/${name}.json`,
            redirect_uri: redirectUri,
            response_type: 'code',
            code_challenge: challenge,
            code_challenge_method: 'S256',
            resource: `${base}/mcp/acme/reader`,
          })}`,
          { redirect: 'manual' },
        );
        expect(response.status, name).toBe(400);
        expect(response.headers.get('location'), name).toBeNull(); // never sent to the document's redirect URI
        expect(await response.text(), name).toMatch(/invalid_client/);
        for (let i = 0; i < 40 && (await count()) === before; i++) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 150));
        expect(await count(), name).toBe(before + 1);
        // Fetched (the refusal is about the document, not the connection); a refused document is not cached.
        expect(documents.hits.get(`/clients/${name}.json`), name).toBeGreaterThanOrEqual(1);
      }
    } finally {
      clearTimeout(slowTimer);
    }
  });

  const registerRaw = (metadata: Record<string, unknown>) =>
    fetch(`${base}/oauth/acme/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        ...metadata,
      }),
    });

  it("turns oidc-provider's request storage off between its requests, so tool calls pay no promise hooks", async () => {
    // On Node 20 an enabled AsyncLocalStorage keeps promise hooks on for every promise of the process; oidc-provider
    // enables its storage at its first request. The CIMD test above proves the storage still works during requests.
    const storage = providerRequestStorage as unknown as { enabled: boolean };
    const token = await fetch(`${base}/oauth/acme/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=nope&client_id=nobody',
    });
    expect(token.status).toBe(401); // invalid_client, answered by oidc-provider
    expect(storage.enabled).toBe(false);
    const inFlight = Promise.all([
      fetch(`${base}/.well-known/oauth-authorization-server/oauth/acme`),
      fetch(`${base}/.well-known/oauth-authorization-server/oauth/globex`),
    ]);
    await inFlight;
    expect(storage.enabled).toBe(false);
  });

  it('breaker finding 1: a client_name over 100 characters is refused at registration, naming the field', async () => {
    const response = await registerRaw({ client_name: 'x'.repeat(101) });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_client_metadata');
    expect(body.error_description).toContain('client_name');
    expect((await registerRaw({ client_name: 'x'.repeat(100) })).status).toBe(201);
  });

  it('breaker finding 2: a plain http redirect URI off loopback is refused at registration (OAuth 2.1)', async () => {
    for (const extra of [{}, { application_type: 'web' }, { application_type: 'native' }]) {
      const response = await registerRaw({ ...extra, redirect_uris: ['http://app.example.com/callback'] });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error).toBe('invalid_redirect_uri');
      expect(body.error_description).toContain('http://app.example.com/callback');
    }
    expect((await registerRaw({ redirect_uris: ['https://app.example.com/callback'] })).status).toBe(201);
    expect((await registerRaw({ redirect_uris: ['http://[::1]/callback'] })).status).toBe(201);
  });

  it('breaker finding 3: registration metadata over 8 KiB is refused before the provider stores anything', async () => {
    const huge = await registerRaw({ client_name: 'x'.repeat(50 * 1024) });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { code: string }).code).toBe('payload_too_large');
    const justOver = await registerRaw({ software_id: 'y'.repeat(8 * 1024) });
    expect(justOver.status).toBe(413);
  });

  // Last of the tests registering on acme from this address: it spends the address's hourly budget.
  it('breaker finding 3: unauthenticated registration is rate limited per address (429, Retry-After)', async () => {
    let refused: Response | undefined;
    let attempts = 0;
    while (refused === undefined && attempts <= registrationLimits.perAddressPerHour) {
      attempts += 1;
      const response = await registerRaw({ client_name: `flood ${attempts}` });
      if (response.status === 429) refused = response;
      else expect(response.status).toBe(201);
    }
    expect(refused?.status).toBe(429);
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const problem = (await refused?.json()) as { code: string; details: { limit: string } };
    expect(problem.code).toBe('rate_limited');
    expect(problem.details.limit).toBe('oauth_registration.address');
  });

  it('switches dynamic registration off per tenant', async () => {
    const response = await fetch(`${base}/oauth/globex/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' }),
    });
    expect(response.status).toBe(404);
  });
});
