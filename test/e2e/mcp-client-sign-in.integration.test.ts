import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Client,
  type OAuthClientProvider,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client';
import { UnauthorizedError as UnauthorizedErrorV1 } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioClientTransportV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/index.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const skip = chromiumMissing() !== undefined;
const callbackUrl = 'http://127.0.0.1:7778/callback';

let api: FakeApi;
let gateway: TestGateway;
let chromium: RunningChromium;
let served: Gateway;

beforeAll(async () => {
  if (skip) return;
  api = await startFakeApi();
  const port = await freePort();
  gateway = await startTestGateway(
    {
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [
            { id: 'fake', openapi: description, baseUrl: api.url },
            // Per-user OAuth: nobody has connected it, so a call answers with a connect link.
            {
              id: 'mail',
              openapi: description,
              baseUrl: api.url,
              auth: {
                type: 'oauth2',
                authorizationUrl: 'https://auth.mail.example/authorize',
                tokenUrl: 'https://auth.mail.example/token',
                clientId: 'gatehouse',
                clientSecret: 'mail-app-secret',
                scopes: ['mail.read'],
              },
            },
          ],
          toolsets: [
            { id: 'reader', tools: ['fake_*'] },
            { id: 'mail', tools: ['mail_*'] },
          ],
        },
      ],
    },
    {
      port,
      extendGateway: (built) => {
        served = built;
        return built;
      },
    },
  );
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await gateway?.close();
  await api?.close();
});

/** The SDK's OAuth client provider, in memory; `redirectToAuthorization` hands the URL to the "browser". */
function createProvider(onRedirect: (url: URL) => void): OAuthClientProvider & { saved: Record<string, unknown> } {
  const saved: Record<string, unknown> = {};
  return {
    saved,
    get redirectUrl() {
      return callbackUrl;
    },
    get clientMetadata() {
      return {
        redirect_uris: [callbackUrl],
        client_name: 'SDK 2.x test client',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      };
    },
    clientInformation: () => saved['client'] as never,
    saveClientInformation: (info) => {
      saved['client'] = info;
    },
    tokens: () => saved['tokens'] as never,
    saveTokens: (tokens) => {
      saved['tokens'] = tokens;
    },
    redirectToAuthorization: (url) => onRedirect(url),
    saveCodeVerifier: (verifier) => {
      saved['verifier'] = verifier;
    },
    codeVerifier: () => saved['verifier'] as string,
  };
}

/**
 * Signs in on Gatehouse's page and consents, in Chromium; returns the callback URL the browser was sent to. The
 * callback is answered in the browser (the SDK clients here have no server), or, with `reachClient`, really
 * loaded from the client's own loopback server (mcp-remote's).
 */
async function signInAndConsent(
  authorizationUrl: URL,
  name: string,
  password: string,
  screenshot: string,
  options: { callbackPrefix?: string; reachClient?: boolean } = {},
): Promise<URL> {
  const prefix = options.callbackPrefix ?? callbackUrl;
  const context = await chromium.newContext();
  const page = await context.newPage();
  let callback: URL | undefined;
  if (options.reachClient !== true) {
    await page.route(`${new URL(prefix).origin}/**`, async (route) => {
      callback = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'done' });
    });
  }
  await page.goto(authorizationUrl.href);
  // The sign-in page of an authorization request names the app asking (from the pending request, not the URL).
  expect(await page.textContent('body')).toMatch(/\S+ \(unverified: the app describes itself\) asks to connect/);
  await chromium.screenshot(page, `${screenshot}-sign-in`);
  await page.fill('#name', name);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('button[value=allow]');
  // The consent page says where the answer goes (the redirect URI's origin) and where access is revoked later.
  const consent = (await page.textContent('body')) ?? '';
  expect(consent).toContain(`your browser goes back to ${new URL(prefix).origin}.`);
  expect(consent).toContain('revoke this access at any time on your account page');
  expect(await page.getAttribute('a[href^="/account/"]', 'href')).toBe('/account/acme');
  await chromium.screenshot(page, screenshot);
  await page.click('button[value=allow]');
  await page.waitForURL((url) => url.href.startsWith(prefix));
  callback ??= new URL(page.url());
  if (options.reachClient === true) await page.waitForLoadState();
  await context.close();
  return callback;
}

describe.skipIf(skip)('an MCP client signs in through Gatehouse (SDK 2.x OAuth, Chromium)', () => {
  it('the SDK 2.x client registers, the user signs in and consents in Chromium, and the client lists and calls tools as that user', async () => {
    const password = 'correct horse battery staple 42';

    const mcpUrl = new URL(`${gateway.url}/mcp/acme/reader`);
    let authorizationUrl: URL | undefined;
    const provider = createProvider((url) => {
      authorizationUrl = url;
    });
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    const client = new Client({ name: 'sdk2-oauth', version: '1.0.0' });
    const refused = await client.connect(transport).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnauthorizedError);
    expect(authorizationUrl?.searchParams.get('resource')).toBe(mcpUrl.href);
    expect(authorizationUrl?.searchParams.get('code_challenge_method')).toBe('S256');

    // A local user (as `gatehouse users add` and the invite make one).
    await served.users?.ensureLocalUser('acme', 'alice', password);
    const callback = await signInAndConsent(authorizationUrl as URL, 'alice', password, 'oauth-consent-sdk2');
    expect(callback.searchParams.get('iss')).toBe(`${gateway.url}/oauth/acme`);
    await transport.finishAuth(callback.searchParams);

    const connected = new Client({ name: 'sdk2-oauth', version: '1.0.0' });
    await connected.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
    const { tools } = await connected.listTools();
    expect(tools.map((t) => t.name)).toContain('fake_listItems');
    const result = await connected.callTool({ name: 'fake_listItems', arguments: {} });
    expect(result.isError).toBeFalsy();
    await connected.close();

    // The audit record names the user (subject) and the OAuth client id.
    const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call' });
    const clientId = (provider.saved['client'] as { client_id: string }).client_id;
    expect(records.at(-1)).toMatchObject({
      subject: expect.any(String),
      clientKey: `oauth:${clientId}`,
      decision: 'allow',
    });
    expect(records.at(-1)?.subject).not.toBe('shared');
  });

  it('the SDK 1.x client does the same, and a second user signs in as themselves (the subject is theirs)', async () => {
    const password = 'another correct horse battery 7';
    await served.users?.ensureLocalUser('acme', 'bob', password);
    const mcpUrl = new URL(`${gateway.url}/mcp/acme/reader`);
    let authorizationUrl: URL | undefined;
    const provider = createProvider((url) => {
      authorizationUrl = url;
    });
    const transport = new StreamableHTTPClientTransportV1(mcpUrl, { authProvider: provider as never });
    const client = new ClientV1({ name: 'sdk1-oauth', version: '1.0.0' });
    const refused = await client.connect(transport).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnauthorizedErrorV1);
    expect(authorizationUrl?.searchParams.get('resource')).toBe(mcpUrl.href);
    const callback = await signInAndConsent(authorizationUrl as URL, 'bob', password, 'oauth-consent-sdk1');
    await transport.finishAuth(callback.searchParams.get('code') ?? '');

    const connected = new ClientV1({ name: 'sdk1-oauth', version: '1.0.0' });
    await connected.connect(new StreamableHTTPClientTransportV1(mcpUrl, { authProvider: provider as never }));
    const result = await connected.callTool({ name: 'fake_listItems', arguments: {} });
    expect(result.isError).toBeFalsy();
    await connected.close();

    const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call' });
    const clientId = (provider.saved['client'] as { client_id: string }).client_id;
    const bobs = records.filter((r) => r.clientKey === `oauth:${clientId}`);
    const alices = records.filter((r) => r.clientKey !== `oauth:${clientId}`);
    expect(bobs.length).toBeGreaterThan(0);
    expect(alices.length).toBeGreaterThan(0);
    // Each user's calls carry their own subject (per-user connections are looked up by it).
    expect(new Set(bobs.map((r) => r.subject)).size).toBe(1);
    expect(bobs[0]?.subject).not.toBe(alices[0]?.subject);
  });
});

/** mcp-remote's command (from npm, a dev dependency), run with this Node. */
const mcpRemoteBin = fileURLToPath(new URL('../../node_modules/mcp-remote/dist/proxy.js', import.meta.url));

describe.skipIf(skip)('mcp-remote signs in through Gatehouse (its own OAuth flow, Chromium)', () => {
  it('mcp-remote registers, its loopback callback receives the code after sign-in and consent in Chromium, and tools are listed and called through its stdio as that user', async () => {
    const password = 'mcp remote horse battery 99';
    await served.users?.ensureLocalUser('acme', 'erin', password);
    const erin = (await served.users?.listUsers('acme'))?.find((u) => u.name === 'erin');
    const configDir = mkdtempSync(join(tmpdir(), 'gh-mcp-remote-'));
    const mcpUrl = `${gateway.url}/mcp/acme/reader`;
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
    const transport = new StdioClientTransportV1({
      command: process.execPath,
      args: [mcpRemoteBin, mcpUrl],
      // Its token store in a temp folder; `BROWSER` so that no desktop browser is opened: the URL is taken from
      // what mcp-remote prints for its user (the same URL it hands to `open`).
      env: { ...env, MCP_REMOTE_CONFIG_DIR: configDir, BROWSER: 'true' },
      stderr: 'pipe',
    });
    let log = '';
    const printed = new Promise<URL>((resolve) => {
      transport.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        const url = /Please authorize this client by visiting:\s*(\S+)/.exec(log)?.[1];
        if (url !== undefined) resolve(new URL(url));
      });
    });
    const client = new ClientV1({ name: 'through-mcp-remote', version: '1.0.0' });
    const connecting = client.connect(transport);
    try {
      const authorizationUrl = await Promise.race([
        printed,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`mcp-remote printed no authorization URL:\n${log}`)), 60_000),
        ),
      ]);
      expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${gateway.url}/oauth/acme/auth`);
      expect(authorizationUrl.searchParams.get('resource')).toBe(mcpUrl);
      expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
      // Its callback server listens on loopback, on a port of its choosing (RFC 8252).
      const redirect = new URL(authorizationUrl.searchParams.get('redirect_uri') ?? '');
      expect(['localhost', '127.0.0.1']).toContain(redirect.hostname);

      const callback = await signInAndConsent(authorizationUrl, 'erin', password, 'oauth-consent-mcp-remote', {
        callbackPrefix: redirect.href,
        reachClient: true,
      });
      expect(callback.searchParams.get('iss')).toBe(`${gateway.url}/oauth/acme`);
      await connecting;

      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('fake_listItems');
      const result = await client.callTool({ name: 'fake_listItems', arguments: {} });
      expect(result.isError).toBeFalsy();

      const clientId = authorizationUrl.searchParams.get('client_id');
      const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call' });
      const mine = records.filter((r) => r.clientKey === `oauth:${clientId}`);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((r) => r.subject === erin?.id && r.decision === 'allow')).toBe(true);
    } finally {
      await client.close().catch(() => {});
      await transport.close().catch(() => {});
      rmSync(configDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skip)('a signed-in user without an upstream connection (SDK 2.x OAuth)', () => {
  it('gets the connect link for their own account: a tool error, or -32042 URL elicitation when the request declares it', async () => {
    const password = 'frank has no mail connection 3';
    await served.users?.ensureLocalUser('acme', 'frank', password);
    const frank = (await served.users?.listUsers('acme'))?.find((u) => u.name === 'frank');
    const mcpUrl = new URL(`${gateway.url}/mcp/acme/mail`);
    let authorizationUrl: URL | undefined;
    const provider = createProvider((url) => {
      authorizationUrl = url;
    });
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    expect(
      await new Client({ name: 'mail-user', version: '1.0.0' }).connect(transport).catch((e: unknown) => e),
    ).toBeInstanceOf(UnauthorizedError);
    const callback = await signInAndConsent(authorizationUrl as URL, 'frank', password, 'oauth-consent-not-connected');
    await transport.finishAuth(callback.searchParams);

    const client = new Client({ name: 'mail-user', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
    const before = api.received.length;
    const plain = await client.callTool({ name: 'mail_listItems', arguments: {} });
    expect(plain.isError).toBe(true);
    const error = (plain.structuredContent as { error: { code: string; details: { connectUrl: string } } }).error;
    expect(error.code).toBe('connection_required');
    expect(error.details.connectUrl).toMatch(new RegExp(`^${gateway.url}/connect/acme\\.[^?]+\\?sig=`));
    // The model reads whom to ask by name, never the internal user id.
    const told = JSON.stringify(plain.content);
    expect(told).toContain('is not connected for user frank.');
    expect(told).not.toContain(frank?.id as string);
    // The link connects frank's own account (per-user service): the link is his.
    const linkId = decodeURIComponent(/\/connect\/(acme\.[^?]+)\?/.exec(error.details.connectUrl)?.[1] ?? '');
    expect((await gateway.adapters.store.connectFlow.getLink('acme', linkId))?.subject).toBe(frank?.id);

    const elicited = await client
      .callTool({
        name: 'mail_listItems',
        arguments: {},
        _meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } },
      })
      .catch((e: unknown) => e);
    expect(elicited).toMatchObject({ code: -32042 });
    const elicitations = (elicited as { data?: { elicitations?: { mode: string; url: string }[] } }).data?.elicitations;
    expect(elicitations?.[0]?.mode).toBe('url');
    expect(elicitations?.[0]?.url).toMatch(new RegExp(`^${gateway.url}/connect/acme\\.`));
    expect(api.received.length).toBe(before); // nothing reached the upstream
    await client.close();
  });
});

describe.skipIf(skip)("the authorization server's error page", () => {
  it('shows the OAuth error and its description on a Gatehouse page, escaped, with no stack and nothing of the request', async () => {
    const registered = await fetch(`${gateway.url}/oauth/acme/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [callbackUrl], token_endpoint_auth_method: 'none', client_name: 'Pages' }),
    });
    const clientId = ((await registered.json()) as { client_id: string }).client_id;
    const context = await chromium.newContext();
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const params = new URLSearchParams({
      client_id: clientId,
      redirect_uri: 'https://attacker.example/steal?<b>x</b>',
      response_type: 'code',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 'secret-state-value',
      resource: `${gateway.url}/mcp/acme/reader`,
    });
    const response = await page.goto(`${gateway.url}/oauth/acme/auth?${params}`);
    expect(response?.status()).toBe(400);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    await chromium.screenshot(page, 'oauth-error-page');
    expect(await page.title()).toBe('Sign-in stopped - Gatehouse');
    const text = (await page.locator('body').textContent()) ?? '';
    expect(text).toContain('invalid_redirect_uri');
    expect(text).toContain("redirect_uri did not match any of the client's registered redirect_uris");
    // Nothing of the request (a state, the unregistered URI) and no stack is echoed; nothing is loaded from elsewhere.
    expect(text).not.toContain('secret-state-value');
    expect(text).not.toContain('attacker.example');
    expect(text).not.toMatch(/\bat .*\.js:\d+/);
    expect(requests.every((url) => url.startsWith(gateway.url))).toBe(true);

    // An unknown client: the same page, another error.
    await page.goto(
      `${gateway.url}/oauth/acme/auth?${new URLSearchParams({ ...Object.fromEntries(params), client_id: 'nobody' })}`,
    );
    expect((await page.locator('code').textContent()) ?? '').toBe('invalid_client');
    await context.close();
  });
});
