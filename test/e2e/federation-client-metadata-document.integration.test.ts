import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type LegacyMcpUpstream, startLegacyMcpUpstream } from '../support/start-mcp-upstream.ts';
import {
  type MetadataDocumentAuthorizationServer,
  startMetadataDocumentAuthorizationServer,
} from '../support/start-metadata-document-authorization-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 12, upstream auth: the gateway as an OAuth client of a federated MCP server's authorization server
 * identifies itself with its own Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document; the
 * MCP authorization spec's order: a configured client, else a metadata document where the server supports them,
 * else dynamic registration). Two protected MCP servers (official SDK) each trust their own authorization server
 * (real HTTP servers on 127.0.0.1): one supports metadata documents and refuses registration, the other supports
 * registration only. A person allows access in Chromium and an MCP client (SDK) calls the federated tools.
 */
const adminToken = 'admin-token-for-federation-cimd-0123456789';
const clientKey = 'gatehouse_sk_federation_cimd_agent_0123456789';
const scopes = ['notes:read'];

const missing = chromiumMissing();

interface Protected {
  readonly as: MetadataDocumentAuthorizationServer;
  readonly upstream: LegacyMcpUpstream;
}

/** A protected MCP server whose one tool echoes, trusting only tokens `as` issued for it. */
async function startProtected(as: MetadataDocumentAuthorizationServer, name: string): Promise<Protected> {
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
      accepts: async (authorization) => as.accepts(/^Bearer (.+)$/.exec(authorization ?? '')?.[1], upstream.url),
      challenge: () => `Bearer resource_metadata="${new URL(upstream.url).origin}${metadataPath}"`,
      documents: () => ({
        [metadataPath]: { resource: upstream.url, authorization_servers: [as.url], scopes_supported: scopes },
      }),
    },
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
        {
          adminToken,
          unsafeAllowPrivateUpstreams: ['127.0.0.1'],
          tenants: [
            {
              id: 'acme',
              services: [
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
      for (const server of [documentServer, registrationServer]) {
        await server?.upstream.close();
        await server?.as.close();
      }
    });

    async function connectLink(service: string): Promise<string> {
      const response = await fetch(`${gateway.url}/api/v1/tenants/acme/connections`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ service, subject: 'shared' }),
      });
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status, JSON.stringify(body)).toBe(201);
      return body['authorizeUrl'] as string;
    }

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

    async function callTool(name: string, text: string): Promise<string> {
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

      expect(await callTool('notes_echo', 'hi')).toBe('notes: hi');
      expect(as.registrations).toHaveLength(0);
    });

    it('the refresh of that connection uses the same client id, the document URL', async () => {
      const before = documentServer.as.tokenRequests.length;
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(await callTool('notes_echo', 'later')).toBe('notes: later');
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
      expect(await callTool('legacy_echo', 'hello')).toBe('legacy: hello');
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
