import { fileURLToPath } from 'node:url';
import {
  Client,
  type OAuthClientProvider,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client';
import { UnauthorizedError as UnauthorizedErrorV1 } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
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
          services: [{ id: 'fake', openapi: description, baseUrl: api.url }],
          toolsets: [{ id: 'reader', tools: ['fake_*'] }],
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

/** Signs in on Gatehouse's page and consents, in Chromium; returns the callback URL the browser was sent to. */
async function signInAndConsent(
  authorizationUrl: URL,
  name: string,
  password: string,
  screenshot: string,
): Promise<URL> {
  const context = await chromium.newContext();
  const page = await context.newPage();
  let callback: URL | undefined;
  await page.route('http://127.0.0.1:7778/**', async (route) => {
    callback = new URL(route.request().url());
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'done' });
  });
  await page.goto(authorizationUrl.href);
  await page.fill('#name', name);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('button[value=allow]');
  await chromium.screenshot(page, screenshot);
  await page.click('button[value=allow]');
  await page.waitForURL((url) => url.href.startsWith(callbackUrl));
  await context.close();
  if (callback === undefined) throw new Error('the browser never reached the client callback');
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
