import { request as httpRequest } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectInChromium } from '../support/connect-in-chromium.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type HttpsFixture, startHttpsFixture } from '../support/start-https-fixture.ts';
import { type LegacyMcpUpstream, startLegacyMcpUpstream } from '../support/start-mcp-upstream.ts';
import {
  type MetadataDocumentAuthorizationServer,
  startMetadataDocumentAuthorizationServer,
} from '../support/start-metadata-document-authorization-server.ts';
import { type RunningOidcProvider, startOidcProvider } from '../support/start-oidc-provider.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 12, upstream auth: the gateway as an OAuth client of a federated MCP server's authorization server
 * identifies itself with its own Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document; the
 * MCP authorization spec's order: a configured client, else a metadata document where the server supports them,
 * else dynamic registration). Protected MCP servers (official SDK) each trust their own authorization server (real
 * HTTP servers on 127.0.0.1): a small one that supports metadata documents and refuses registration, one that
 * supports registration only, and oidc-provider with its metadata document feature. A person allows access in
 * Chromium and an MCP client (SDK) calls the federated tools.
 */
const adminToken = 'admin-token-for-federation-cimd-0123456789';
const clientKey = 'gatehouse_sk_federation_cimd_agent_0123456789';
const scopes = ['notes:read'];

const missing = chromiumMissing();

/**
 * A protected MCP server (official SDK 1.x) whose one tool echoes, naming `issuer()` in its protected resource
 * metadata and accepting the bearer tokens `accepts` does.
 */
async function startEchoServer(
  name: string,
  issuer: () => string,
  accepts: (token: string | undefined, resource: string) => Promise<boolean>,
): Promise<LegacyMcpUpstream> {
  const metadataPath = '/.well-known/oauth-protected-resource/mcp';
  const upstream: LegacyMcpUpstream = await startLegacyMcpUpstream(
    [
      {
        name: 'echo',
        description: 'Echoes text',
        inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        call: (args) => ({ content: [{ type: 'text', text: `${name}: ${String(args['text'])}` }] }),
      },
    ],
    {
      accepts: (authorization) => accepts(/^Bearer (.+)$/.exec(authorization ?? '')?.[1], upstream.url),
      challenge: () => `Bearer resource_metadata="${new URL(upstream.url).origin}${metadataPath}"`,
      documents: () => ({
        [metadataPath]: { resource: upstream.url, authorization_servers: [issuer()], scopes_supported: scopes },
      }),
    },
  );
  return upstream;
}

function gatewayConfig(services: Record<string, unknown>[]): Record<string, unknown> {
  return {
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    // This suite tests the OAuth flow, not who opens a link (test/e2e/connect-link-binding): links open alone.
    connectLinks: { unsafeLinkAloneConnects: true },
    tenants: [
      {
        id: 'acme',
        services,
        toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none' }],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
      },
    ],
  };
}

/** A connect link for the tenant's shared connection to `service`, from the admin API. */
async function createConnectLink(gateway: TestGateway, service: string): Promise<string> {
  const response = await fetch(`${gateway.url}/api/v1/tenants/acme/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ service, subject: 'shared' }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body['authorizeUrl'] as string;
}

/** An MCP client (SDK) with the agent's key lists the toolset and calls `name`: the text it got back. */
async function callTool(gateway: TestGateway, name: string, text: string): Promise<string> {
  const client = new Client({ name: 'cimd-agent', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/acme/all`), {
      requestInit: { headers: { authorization: `Bearer ${clientKey}` } },
    }),
  );
  try {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain(name);
    const result = (await client.callTool({ name, arguments: { text } })) as {
      isError?: boolean;
      content: { type: string; text?: string }[];
    };
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    return result.content[0]?.text ?? '';
  } finally {
    await client.close();
  }
}

interface Protected {
  readonly as: MetadataDocumentAuthorizationServer;
  readonly upstream: LegacyMcpUpstream;
}

async function startProtected(as: MetadataDocumentAuthorizationServer, name: string): Promise<Protected> {
  const upstream = await startEchoServer(
    name,
    () => as.url,
    async (token, resource) => as.accepts(token, resource),
  );
  return { as, upstream };
}

describe.skipIf(missing !== undefined)(
  'federated MCP server: the gateway identifies itself by its client metadata document',
  () => {
    let documentServer: Protected;
    let registrationServer: Protected;
    let gateway: TestGateway;
    let browser: RunningChromium;
    let publicUrl = '';
    let documentUrl = '';

    beforeAll(async () => {
      const port = await freePort();
      publicUrl = `http://127.0.0.1:${port}`;
      documentUrl = `${publicUrl}/oauth/client-metadata.json`;
      documentServer = await startProtected(
        await startMetadataDocumentAuthorizationServer({
          metadataDocuments: true,
          registration: false,
          accessTokenTtl: 3,
        }),
        'notes',
      );
      registrationServer = await startProtected(
        await startMetadataDocumentAuthorizationServer({ metadataDocuments: false, registration: true }),
        'legacy',
      );
      gateway = await startTestGateway(
        gatewayConfig([
          {
            id: 'notes',
            mcp: documentServer.upstream.url,
            shared: true,
            auth: { type: 'oauth2', refreshMarginSeconds: 0 },
          },
          { id: 'legacy', mcp: registrationServer.upstream.url, shared: true, auth: { type: 'oauth2' } },
          // A configured client wins over the metadata document.
          {
            id: 'pinned',
            mcp: documentServer.upstream.url,
            shared: true,
            auth: { type: 'oauth2', clientId: 'pinned-app' },
          },
        ]),
        { port },
      );
      browser = await launchChromium();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await gateway?.close();
      for (const server of [documentServer, registrationServer]) {
        await server?.upstream.close();
        await server?.as.close();
      }
    });

    const connectLink = (service: string) => createConnectLink(gateway, service);

    /** A person opens the link in Chromium, sees the authorization server's page, and presses Allow. */
    async function allowInChromium(link: string, name: string): Promise<{ consent: string; done: string }> {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(link);
        const allow = page.getByRole('button', { name: 'Allow' });
        await allow.waitFor();
        const consent = (await page.locator('body').textContent()) ?? '';
        await browser.screenshot(page, `${name}-1-consent`);
        const [callback] = await Promise.all([
          page.waitForResponse((response) => new URL(response.url()).pathname === '/oauth/callback'),
          allow.click(),
        ]);
        await page.waitForLoadState();
        await browser.screenshot(page, `${name}-2-done`);
        expect(callback.status()).toBe(200);
        return { consent, done: (await page.locator('body').textContent()) ?? '' };
      } finally {
        await context.close();
      }
    }

    it('serves its client metadata document: client_id is its own URL, the callback its one redirect URI, no secret', async () => {
      const response = await fetch(documentUrl);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
      const document = (await response.json()) as Record<string, unknown>;
      expect(document).toEqual({
        client_id: documentUrl,
        client_name: 'Gatehouse',
        client_uri: publicUrl,
        redirect_uris: [`${publicUrl}/oauth/callback`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      });
    });

    it('a server supporting metadata documents gets the document URL as client_id, no registration; a person allows in Chromium and an MCP client calls the tool', async () => {
      const link = await connectLink('notes');
      const { as } = documentServer;
      // The choice needs no request to the authorization server beyond its metadata: nothing registered.
      expect(as.registrations).toHaveLength(0);
      const { consent, done } = await allowInChromium(link, 'federation-cimd-notes');
      // The authorization server fetched the document from the gateway while answering the authorization request,
      // and showed the name it read there.
      expect(as.refusals).toEqual([]);
      expect(as.fetched).toEqual([
        { clientId: documentUrl, status: 200, document: expect.objectContaining({ client_id: documentUrl }) },
      ]);
      expect(consent).toContain('Allow Gatehouse to use your notes?');
      expect(done).toContain('Connected');
      const authorize = as.authorizeRequests.at(-1);
      expect(authorize?.get('client_id')).toBe(documentUrl);
      expect(authorize?.get('redirect_uri')).toBe(`${publicUrl}/oauth/callback`);
      expect(authorize?.get('code_challenge_method')).toBe('S256');
      expect(authorize?.get('resource')).toBe(documentServer.upstream.url);
      // A public client: the code is redeemed with the document URL as client_id and no client authentication.
      const exchange = as.tokenRequests.at(-1);
      expect(exchange?.form.get('grant_type')).toBe('authorization_code');
      expect(exchange?.form.get('client_id')).toBe(documentUrl);
      expect(exchange?.authenticated).toBe(false);

      expect(await callTool(gateway, 'notes_echo', 'hi')).toBe('notes: hi');
      expect(as.registrations).toHaveLength(0);
    });

    it('the refresh of that connection uses the same client id, the document URL', async () => {
      const before = documentServer.as.tokenRequests.length;
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(await callTool(gateway, 'notes_echo', 'later')).toBe('notes: later');
      const refreshes = documentServer.as.tokenRequests.slice(before);
      expect(refreshes.map((r) => r.form.get('grant_type'))).toContain('refresh_token');
      for (const refresh of refreshes) {
        expect(refresh.form.get('client_id')).toBe(documentUrl);
        expect(refresh.authenticated).toBe(false);
      }
      expect(documentServer.as.registrations).toHaveLength(0);
    }, 20_000);

    it('a server without metadata document support still gets a dynamic registration, and the tool works', async () => {
      const { as } = registrationServer;
      const link = await connectLink('legacy');
      expect(as.registrations).toHaveLength(1);
      expect(as.registrations[0]?.['redirect_uris']).toEqual([`${publicUrl}/oauth/callback`]);
      const { done } = await allowInChromium(link, 'federation-cimd-legacy');
      expect(done).toContain('Connected');
      expect(as.fetched).toEqual([]);
      expect(as.authorizeRequests.at(-1)?.get('client_id')).toBe('registered-1');
      expect(as.tokenRequests.at(-1)?.authenticated).toBe(true);
      expect(await callTool(gateway, 'legacy_echo', 'hello')).toBe('legacy: hello');
    });

    it('a configured clientId wins over the metadata document', async () => {
      const fetches = documentServer.as.fetched.length;
      const link = new URL(await connectLink('pinned'));
      const opened = await fetch(`${gateway.url}${link.pathname}${link.search}`, { redirect: 'manual' });
      expect(opened.status).toBe(302);
      const authorize = new URL(opened.headers.get('location') ?? 'http://x');
      expect(authorize.origin).toBe(documentServer.as.url);
      expect(authorize.searchParams.get('client_id')).toBe('pinned-app');
      expect(documentServer.as.registrations).toHaveLength(0);
      expect(documentServer.as.fetched).toHaveLength(fetches);
    });
  },
);

/**
 * The same against a real implementation: oidc-provider with its Client ID Metadata Document feature (https client
 * ids only; dynamic registration open as well, and not used). The gateway's public URL is https: a TLS-terminating
 * proxy on 127.0.0.1 with a certificate made for this run, which the provider trusts and Chromium is told to accept.
 */
describe.skipIf(missing !== undefined)(
  'federated MCP server whose authorization server is oidc-provider with metadata documents',
  () => {
    let as: RunningOidcProvider;
    let upstream: LegacyMcpUpstream;
    let tls: HttpsFixture;
    let gateway: TestGateway;
    let browser: RunningChromium;

    beforeAll(async () => {
      tls = await startHttpsFixture();
      upstream = await startEchoServer(
        'notes',
        () => as.issuer,
        async (token, resource) => {
          const found = token === undefined ? undefined : await as.provider.AccessToken.find(token);
          return found !== undefined && !found.isExpired && found.aud === resource;
        },
      );
      as = await startOidcProvider({
        redirectUris: [`${tls.url}/oauth/callback`],
        clientId: 'unused-static-client',
        clientSecret: 'unused-static-client-secret-0123456789',
        resource: upstream.url,
        resourceScopes: scopes,
        registration: true,
        clientIdMetadataDocuments: { ca: tls.ca },
      });
      gateway = await startTestGateway(
        gatewayConfig([{ id: 'notes', mcp: upstream.url, shared: true, auth: { type: 'oauth2' } }]),
        { port: await freePort(), publicUrl: tls.url },
      );
      // The proxy: every request to the public URL goes to the gateway as it came (its Host is the public one).
      tls.otherwise((req, res) => {
        const forward = httpRequest(
          new URL(req.url ?? '/', gateway.url),
          { method: req.method, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forward.on('error', () => res.writeHead(502).end());
        req.pipe(forward);
      });
      browser = await launchChromium({ ignoreHTTPSErrors: true });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await gateway?.close();
      await upstream?.close();
      await as?.close();
      await tls?.close();
    });

    it('oidc-provider fetches the document over https, accepts its redirect URI, and issues tokens to the public client', async () => {
      const documentUrl = `${tls.url}/oauth/client-metadata.json`;
      const link = await createConnectLink(gateway, 'notes');
      expect(link.startsWith(`${tls.url}/connect/`)).toBe(true);
      const done = await connectInChromium(browser, link, 'federation-cimd-oidc-provider');
      expect(done.callbackStatus).toBe(200);
      const authorize = new URL(done.visited.find((u) => u.startsWith(`${as.issuer}/auth?`)) ?? 'http://x');
      expect(authorize.searchParams.get('client_id')).toBe(documentUrl);
      expect(authorize.searchParams.get('redirect_uri')).toBe(`${tls.url}/oauth/callback`);
      expect(tls.hits.get('/oauth/client-metadata.json')).toBeGreaterThanOrEqual(1);
      expect(as.hits.get('/reg') ?? 0).toBe(0);
      expect(as.tokenAnswers.at(-1)?.status).toBe(200);
      expect(await callTool(gateway, 'notes_echo', 'from oidc-provider')).toBe('notes: from oidc-provider');
    });
  },
);
