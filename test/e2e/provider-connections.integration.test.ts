import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectThroughGateway } from '../support/connect-through-gateway.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import {
  type ScriptedAuthorizationServer,
  startScriptedAuthorizationServer,
} from '../support/start-scripted-authorization-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 11: catalogue providers through the real gateway, against a scripted authorization server and a fake
 * upstream on 127.0.0.1: where the access token goes (Shopify), fixed headers (Notion), the per-connection base URL
 * (Atlassian's cloud id, discovered after connecting, different for each user), and the SSRF guard on token
 * requests to a host that resolves to a private address.
 */

const adminToken = 'admin-token-provider-connections-0123456789';
const clientKey = 'gatehouse_sk_provider_connections_0123456789';
const notionToken = 'secret_notion-integration-token-0123456789';
const discordBotToken = 'MTk4NjIyNDgzNDcxOTI1MjQ4.discord-bot-token-0123456789';
const cloudOf: Record<string, string> = {
  ada: '11111111-2222-4333-8444-555555555555',
  bob: '66666666-7777-4888-8999-aaaaaaaaaaaa',
};

let as: ScriptedAuthorizationServer;
let upstream: FakeApi;
let gateway: TestGateway;
/** Which user each issued access token belongs to (the token request's code names the user). */
const userOfToken = new Map<string, string>();

beforeAll(async () => {
  as = await startScriptedAuthorizationServer();
  upstream = await startFakeApi();
  let issued = 0;
  as.onToken((request, res) => {
    const token = `at-${++issued}-${'t'.repeat(24)}`;
    userOfToken.set(token, request.form.get('code') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        access_token: token,
        token_type: 'Bearer',
        refresh_token: `rt-${issued}-${'r'.repeat(24)}`,
        expires_in: 3600,
      }),
    );
  });
  upstream.handle((request, res) => {
    if (request.path === '/oauth/token/accessible-resources') {
      const user = userOfToken.get((request.headers.authorization ?? '').replace(/^Bearer /, '')) ?? '';
      const sites = cloudOf[user] === undefined ? [] : [{ id: cloudOf[user], scopes: ['read:jira-work'] }];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sites));
      return;
    }
    if (request.path === '/connections') {
      // Xero: the organisations the token may reach; a practice manager's tenant comes first and is not picked.
      const user = userOfToken.get((request.headers.authorization ?? '').replace(/^Bearer /, '')) ?? '';
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify([
          { id: 'c1', tenantId: '99999999-9999-4999-8999-999999999999', tenantType: 'PRACTICEMANAGER' },
          { id: 'c2', tenantId: cloudOf[user], tenantType: 'ORGANISATION', tenantName: `${user}'s books` },
        ]),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, path: request.path }));
  });
  const endpoints = { authorizationUrl: `${as.url}/authorize`, tokenUrl: `${as.url}/token` };
  gateway = await startTestGateway({
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          {
            provider: 'shopify',
            clientId: 'shopify-client',
            clientSecret: 'shopify-client-secret-0123',
            variables: { shop: 'acme' },
            baseUrl: `${upstream.url}/shopify`,
            auth: endpoints,
          },
          {
            provider: 'jira',
            clientId: 'atlassian-client',
            clientSecret: 'atlassian-client-secret-0123',
            scopes: ['read:jira-work', 'read:jira-user', 'offline_access'],
            baseUrl: `${upstream.url}/ex/jira/{cloudId}/rest/api/3`,
            auth: { ...endpoints, accessibleResourcesUrl: `${upstream.url}/oauth/token/accessible-resources` },
          },
          {
            // The catalogue's Twitch entry sends `Client-Id: ${service.clientId}`; its description is a one-operation file.
            provider: 'twitch',
            clientId: 'twitch-app-client-id',
            clientSecret: 'twitch-client-secret-0123',
            openapi: fileURLToPath(new URL('../fixtures/twitch-users.openapi.yaml', import.meta.url)),
            baseUrl: `${upstream.url}/helix`,
            auth: endpoints,
          },
          {
            provider: 'xero',
            clientId: 'xero-client',
            clientSecret: 'xero-client-secret-0123',
            scopes: ['offline_access', 'accounting.settings.read'],
            openapi: fileURLToPath(new URL('../fixtures/xero-organisation.openapi.yaml', import.meta.url)),
            baseUrl: `${upstream.url}/xero`,
            auth: { ...endpoints, connectionsUrl: `${upstream.url}/connections` },
          },
          { provider: 'notion', token: notionToken, baseUrl: `${upstream.url}/notion` },
          { provider: 'discord', apiKey: discordBotToken, baseUrl: `${upstream.url}/discord` },
          {
            // The token endpoint's host is a name (localhost) that resolves to 127.0.0.1, which is not allowed.
            provider: 'github',
            id: 'guarded',
            clientId: 'github-client',
            clientSecret: 'github-client-secret-0123',
            baseUrl: `${upstream.url}/github`,
            auth: {
              authorizationUrl: `${as.url.replace('127.0.0.1', 'localhost')}/authorize`,
              tokenUrl: `${as.url.replace('127.0.0.1', 'localhost')}/token`,
            },
          },
        ],
        toolsets: [{ id: 'all', tools: ['*'], access: 'read' }],
        clientKeys: [
          { name: 'ada', key: clientKey, toolsets: ['all'], subject: 'ada' },
          { name: 'bob', key: `${clientKey}-bob`, toolsets: ['all'], subject: 'bob' },
        ],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await as?.close();
});

async function clientOf(key: string): Promise<Client> {
  const client = new Client({ name: 'provider-connections', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/acme/all`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

type ToolResult = { isError?: boolean; content: { type: string; text?: string }[] };

describe('catalogue providers through the gateway (issue 11)', () => {
  it('Shopify: the access token goes in X-Shopify-Access-Token, never in Authorization', async () => {
    const connected = await connectThroughGateway(gateway.url, adminToken, {
      tenant: 'acme',
      service: 'shopify',
      subject: 'ada',
      code: 'ada',
    });
    expect(connected.status).toBe(200);
    const client = await clientOf(clientKey);
    const result = (await client.callTool({ name: 'shopify_list_products', arguments: {} })) as ToolResult;
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const hit = upstream.received.filter((r) => r.path.startsWith('/shopify/')).at(-1);
    expect(hit?.headers['x-shopify-access-token']).toMatch(/^at-\d+-t{24}$/);
    expect(hit?.headers.authorization).toBeUndefined();
    await client.close();
  });

  it("Twitch: every call carries Client-Id with the service's own client id, next to the user's token", async () => {
    const connected = await connectThroughGateway(gateway.url, adminToken, {
      tenant: 'acme',
      service: 'twitch',
      subject: 'ada',
      code: 'ada',
    });
    expect(connected.status).toBe(200);
    const client = await clientOf(clientKey);
    const result = (await client.callTool({ name: 'twitch_get_users', arguments: {} })) as ToolResult;
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const hit = upstream.received.filter((r) => r.path.startsWith('/helix/')).at(-1);
    expect(hit?.path).toBe('/helix/users');
    expect(hit?.headers['client-id']).toBe('twitch-app-client-id');
    expect(hit?.headers.authorization).toMatch(/^Bearer at-\d+-t{24}$/);
    expect(JSON.stringify(hit?.headers)).not.toContain('twitch-client-secret-0123');
    await client.close();
  });

  it("Xero: each user's calls carry xero-tenant-id of the organisation discovered for that user's connection", async () => {
    for (const subject of ['ada', 'bob']) {
      const connected = await connectThroughGateway(gateway.url, adminToken, {
        tenant: 'acme',
        service: 'xero',
        subject,
        code: subject,
      });
      expect(connected.status).toBe(200);
    }
    for (const [subject, key] of [
      ['ada', clientKey],
      ['bob', `${clientKey}-bob`],
    ] as const) {
      const client = await clientOf(key);
      const result = (await client.callTool({ name: 'xero_get_organisation', arguments: {} })) as ToolResult;
      expect(result.isError, result.content[0]?.text).toBeFalsy();
      const hit = upstream.received.filter((r) => r.path.startsWith('/xero/')).at(-1);
      expect(hit?.path).toBe('/xero/Organisation');
      expect(hit?.headers['xero-tenant-id'], subject).toBe(cloudOf[subject]);
      await client.close();
    }
  });

  it('Notion: the Notion-Version header is sent on every call, whatever the arguments say', async () => {
    const client = await clientOf(clientKey);
    const result = (await client.callTool({
      name: 'notion_get_page',
      arguments: { page_id: '59833787-2cf9-4fdf-8782-e53db20768a5' },
    })) as ToolResult;
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const hit = upstream.received.filter((r) => r.path.startsWith('/notion/')).at(-1);
    expect(hit?.headers['notion-version']).toBe('2022-06-28');
    expect(hit?.headers.authorization).toBe(`Bearer ${notionToken}`);
    await client.close();
  });

  it('Discord: the pack runs as the bot, its token sent as Authorization: Bot <token> (otherAuth)', async () => {
    const client = await clientOf(clientKey);
    const result = (await client.callTool({ name: 'discord_list_servers', arguments: {} })) as ToolResult;
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const hit = upstream.received.filter((r) => r.path.startsWith('/discord/')).at(-1);
    expect(hit?.headers.authorization).toBe(`Bot ${discordBotToken}`);
    expect(result.content[0]?.text).not.toContain(discordBotToken);
    await client.close();
  });

  it("Atlassian: each user's calls go to the cloud id discovered for that user's connection", async () => {
    for (const user of ['ada', 'bob']) {
      const connected = await connectThroughGateway(gateway.url, adminToken, {
        tenant: 'acme',
        service: 'jira',
        subject: user,
        code: user,
      });
      expect(connected.status, connected.body).toBe(200);
      const stored = await gateway.adapters.store.connections.find('acme', 'jira', user);
      expect(stored?.variables).toEqual({ cloudId: cloudOf[user] });
    }
    for (const [user, key] of [
      ['ada', clientKey],
      ['bob', `${clientKey}-bob`],
    ] as const) {
      const client = await clientOf(key);
      const result = (await client.callTool({ name: 'jira_get_me', arguments: {} })) as ToolResult;
      expect(result.isError, result.content[0]?.text).toBeFalsy();
      expect(upstream.received.at(-1)?.path).toBe(`/ex/jira/${cloudOf[user]}/rest/api/3/myself`);
      await client.close();
    }
  });

  it('a connection made before its service needed a cloud id is asked to connect again, never called', async () => {
    const before = upstream.received.length;
    const { store, vault } = gateway.adapters;
    const scope = { tenantId: 'acme', owner: 'connection:old-jira-conn' };
    await store.connections.upsert({
      tenantId: 'acme',
      id: 'old-jira-conn',
      service: 'jira',
      subject: 'carol',
      status: 'active',
      scopes: ['read:jira-work', 'read:jira-user', 'offline_access'],
      accessToken: await vault.encrypt({ ...scope, field: 'access_token' }, 'old-access-token-0123456789'),
      refreshToken: null,
      accessExpiresAt: null,
      createdAt: Date.now(),
    });
    const response = await gateway.gateway.callTool(
      { tenant: 'acme', toolset: 'all', authMethod: 'key', keyId: 'k', keyName: 'carol', subject: 'carol' },
      'jira_get_me',
      {},
      'request-carol',
    );
    expect(response.ok).toBe(false);
    expect(!response.ok && response.error.code).toBe('reauth_required');
    expect(upstream.received.length).toBe(before);
  });

  it('a token request to a provider host that resolves to a private address is refused (SSRF guard)', async () => {
    const before = as.tokenRequests().length;
    const connected = await connectThroughGateway(gateway.url, adminToken, {
      tenant: 'acme',
      service: 'guarded',
      subject: 'ada',
    });
    expect(connected.status).toBeGreaterThanOrEqual(400);
    expect(as.tokenRequests().length).toBe(before);
    expect(await gateway.adapters.store.connections.find('acme', 'guarded', 'ada')).toBeUndefined();
  });
});
