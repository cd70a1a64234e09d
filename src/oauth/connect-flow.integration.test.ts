import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectInChromium as connectInBrowser } from '../../test/support/connect-in-chromium.ts';
import { freePort } from '../../test/support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../../test/support/launch-chromium.ts';
import { type FakeApi, startFakeApi } from '../../test/support/start-fake-api.ts';
import { type RunningOidcProvider, startOidcProvider } from '../../test/support/start-oidc-provider.ts';
import { startTestGateway, type TestGateway } from '../../test/support/start-test-gateway.ts';
import { type TestDatabase, testDatabases } from '../../test/support/test-databases.ts';

/**
 * The connect flow end to end against a real authorization server (oidc-provider): admin API -> connect link ->
 * provider login and consent pages -> callback -> tools called through the gateway with the stored token, checked
 * by the fake API against the provider. Then ST-02 over the raw database, and disconnect with revocation.
 */
const description = fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url));
const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const adminToken = 'admin-token-for-connect-flow-tests-0123456789';
const aliceKey = 'gatehouse_sk_connect_alice_0123456789abcdef';
const bobKey = 'gatehouse_sk_connect_bob_0123456789abcdefgh';
const clientSecret = 'client-secret-Zq8+/x=%"\\-for-the-oidc-provider-0123';
const resource = 'https://pets.example/api';

/** Every form a secret could take in a dump: raw, base64 (three offsets), base64url, hex, URL-encoded. */
function formsOf(secret: string): string[] {
  const forms = new Set<string>([secret, encodeURIComponent(secret), Buffer.from(secret).toString('hex')]);
  for (let offset = 0; offset < 3; offset++) {
    const shifted = Buffer.from(`${'x'.repeat(offset)}${secret}`);
    const b64 = shifted.toString('base64');
    // The middle part of the encoding is independent of what precedes the secret.
    forms.add(b64.slice(Math.ceil((offset * 4) / 3) + 2, -4));
    forms.add(shifted.toString('base64url').slice(Math.ceil((offset * 4) / 3) + 2, -4));
  }
  return [...forms].filter((f) => f.length >= 12);
}

function containsAny(haystack: Buffer, secret: string): string | undefined {
  const text = haystack.toString('latin1');
  const lower = text.toLowerCase();
  return formsOf(secret).find((form) => text.includes(form) || lower.includes(form.toLowerCase()));
}

// The provider's login and consent pages and the gateway's pages are driven in Debian's Chromium (CP-02).
const missing = chromiumMissing();
let running: RunningChromium | undefined;
afterAll(async () => {
  await running?.close();
});

/** A person connects in Chromium (`connectInChromium`), in this suite's browser. */
async function connectInChromium(
  url: string,
  name: string,
  beforeCallback?: (callbackUrl: string) => Promise<void>,
): Promise<{ visited: string[]; callbackStatus: number; text: string }> {
  running ??= await launchChromium();
  return connectInBrowser(running, url, name, beforeCallback);
}

// SQLite: the test gateway's own file. PostgreSQL: a fresh schema per suite.
const postgres = testDatabases(tmpdir()).find((kind) => kind.name === 'postgres');
const backends = [
  { name: 'sqlite', enabled: true, create: async (): Promise<TestDatabase | undefined> => undefined },
  { name: 'postgres', enabled: postgres?.enabled === true, create: async () => postgres?.create() },
];

for (const backend of backends) {
  describe.skipIf(!backend.enabled || missing !== undefined)(
    `connect flow with oidc-provider (${backend.name})`,
    () => {
      let as: RunningOidcProvider;
      let api: FakeApi;
      let gateway: TestGateway;
      let database: TestDatabase | undefined;

      beforeAll(async () => {
        const port = await freePort();
        const publicUrl = `http://127.0.0.1:${port}`;
        as = await startOidcProvider({
          redirectUris: [`${publicUrl}/oauth/callback`],
          clientId: 'gatehouse',
          clientSecret,
          resource,
          resourceScopes: ['pets:read', 'pets:write'],
          accessTokenTtl: 30,
        });
        api = await startFakeApi();
        api.handle(async (request, res) => {
          const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
          const check = token === undefined ? { active: false } : await as.checkAccessToken(token);
          if (!check.active) {
            res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
            return;
          }
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ id: 'i1', scope: check.scope }));
        });
        database = await backend.create();
        const storeUrl = database?.url;
        gateway = await startTestGateway(
          {
            listen: `127.0.0.1:${port}`,
            publicUrl,
            adminToken,
            unsafeAllowPrivateUpstreams: ['127.0.0.1'],
            // This suite tests the OAuth flow, not who opens a link (test/e2e/connect-link-binding): links open alone.
            connectLinks: { unsafeLinkAloneConnects: true },
            tenants: [
              {
                id: 'acme',
                services: [
                  {
                    id: 'pets',
                    openapi: description,
                    baseUrl: `${api.url}/v1`,
                    auth: {
                      type: 'oauth2',
                      issuer: as.issuer,
                      clientId: 'gatehouse',
                      clientSecret,
                      scopes: ['pets:read', 'pets:write'],
                      resource,
                    },
                  },
                ],
                toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none' }],
                clientKeys: [
                  { name: 'alice-agent', key: aliceKey, toolsets: ['all'], subject: 'alice' },
                  { name: 'bob-agent', key: bobKey, toolsets: ['all'], subject: 'bob' },
                ],
              },
            ],
          },
          storeUrl === undefined ? {} : { store: storeUrl },
        );
      });

      afterAll(async () => {
        await gateway?.close();
        await api?.close();
        await as?.close();
        await database?.drop();
      });

      async function callTool(key: string, meta?: Record<string, unknown>) {
        const response = await fetch(`${gateway.url}/mcp/acme/all`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-11-25',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 'pets_getItem', arguments: { itemId: 'i1' }, ...(meta ? { _meta: meta } : {}) },
          }),
        });
        return (await response.json()) as {
          result?: { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text: string }[] };
          error?: { code: number; message: string; data?: { elicitations?: { mode: string; url: string }[] } };
        };
      }

      async function admin(method: string, path: string, body?: unknown) {
        const response = await fetch(`${gateway.url}/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      }

      it('a tool call without a connection answers with a connect link, and -32042 to a client declaring URL elicitation', async () => {
        const before = api.received.length;
        const plain = await callTool(bobKey);
        expect(plain.result?.isError).toBe(true);
        const error = plain.result?.structuredContent?.['error'] as { code: string; details: { connectUrl: string } };
        expect(error.code).toBe('connection_required');
        expect(error.details.connectUrl).toMatch(
          new RegExp(`^${gateway.config.publicUrl}/connect/acme\\.[^?]+\\?sig=`),
        );
        expect(plain.result?.content[0]?.text).toContain(error.details.connectUrl);
        const elicit = await callTool(bobKey, {
          'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } },
        });
        expect(elicit.error?.code).toBe(-32042);
        expect(elicit.error?.data?.elicitations?.[0]).toMatchObject({ mode: 'url' });
        expect(elicit.error?.data?.elicitations?.[0]?.url).toMatch(/\/connect\/acme\./);
        expect(api.received.length).toBe(before);
      });

      it('connects through the provider pages and calls tools with the stored token (OA-13 grant from the response)', async () => {
        const created = await admin('POST', '/tenants/acme/connections', { service: 'pets', subject: 'alice' });
        expect(created.status).toBe(201);
        const authorizeUrl = created.body['authorizeUrl'] as string;
        expect(authorizeUrl).toMatch(/\/connect\/acme\.[A-Za-z0-9_-]+\?sig=[A-Za-z0-9_-]{43}$/);

        const done = await connectInChromium(authorizeUrl, `connect-${backend.name}`);
        const authorize = done.visited.find((u) => u.startsWith(`${as.issuer}/auth?`));
        const params = new URL(authorize ?? 'http://x').searchParams;
        expect(params.get('code_challenge_method')).toBe('S256');
        expect(params.get('redirect_uri')).toBe(`${gateway.config.publicUrl}/oauth/callback`);
        expect(params.get('resource')).toBe(resource);
        expect(done.callbackStatus).toBe(200);
        expect(done.text).toContain('Connected Fake API (pets) for alice. You can close this tab.');

        const listed = await admin('GET', '/tenants/acme/connections');
        const connections = listed.body['connections'] as Record<string, unknown>[];
        expect(connections).toHaveLength(1);
        expect(connections[0]).toMatchObject({ service: 'pets', subject: 'alice', status: 'active' });
        const answer = as.tokenAnswers.at(-1)?.body ?? {};
        expect(connections[0]?.['scopes']).toEqual(String(answer['scope']).split(' '));
        expect(JSON.stringify(listed.body)).not.toContain(String(answer['access_token']));

        const result = await callTool(aliceKey);
        expect(result.result?.isError).toBeFalsy();
        expect(result.result?.structuredContent).toMatchObject({ id: 'i1' });
        // The token the API accepted is the newest one the provider issued (the refresh engine may have rotated it
        // already: the provider's access tokens live 30 s, inside the refresh margin).
        const latest = as.tokenAnswers.at(-1)?.body ?? {};
        expect(api.received.at(-1)?.headers.authorization).toBe(`Bearer ${latest['access_token']}`);
        expect(as.tokenAnswers.every((a) => a.status === 200)).toBe(true);
      });

      it('ST-02 the raw database holds no token and no client secret in any encoding', async () => {
        const secrets = [
          ...as.tokenAnswers.flatMap((a) => [String(a.body['access_token']), String(a.body['refresh_token'])]),
          clientSecret,
        ];
        expect(secrets.length).toBeGreaterThanOrEqual(3);
        expect(secrets.every((s) => s.length > 20)).toBe(true);
        let dump: Buffer;
        if (database?.schema === undefined) {
          const base = join(gateway.dataDir, 'gatehouse.db');
          const files = [base, `${base}-wal`].flatMap((file) => {
            try {
              return [readFileSync(file)];
            } catch {
              return [];
            }
          });
          dump = Buffer.concat(files);
          expect(dump.length).toBeGreaterThan(4096);
        } else {
          const client = new pg.Client({ connectionString: postgresUrl });
          await client.connect();
          const tables = await client.query<{ table_name: string }>(
            'select table_name from information_schema.tables where table_schema = $1',
            [database.schema],
          );
          const parts: string[] = [];
          for (const { table_name } of tables.rows) {
            const rows = await client.query(`select * from "${database.schema}"."${table_name}"`);
            for (const row of rows.rows as Record<string, unknown>[]) {
              for (const value of Object.values(row)) {
                parts.push(Buffer.isBuffer(value) ? value.toString('latin1') : String(value));
                if (Buffer.isBuffer(value)) parts.push(`\\x${value.toString('hex')}`);
              }
            }
          }
          await client.end();
          dump = Buffer.from(parts.join('\n'), 'latin1');
          expect(parts.length).toBeGreaterThan(10);
        }
        for (const secret of secrets) expect(containsAny(dump, secret)).toBeUndefined();
      });

      it('disconnect revokes the tokens at the provider and removes the connection', async () => {
        const token = String(as.tokenAnswers.at(-1)?.body['access_token']);
        expect((await as.checkAccessToken(token)).active).toBe(true);
        const listed = await admin('GET', '/tenants/acme/connections');
        const id = (listed.body['connections'] as { id: string }[])[0]?.id;
        const removed = await admin('DELETE', `/tenants/acme/connections/${id}`);
        expect(removed.body).toEqual({ revoked: true });
        expect(as.hits.get('/token/revocation')).toBeGreaterThanOrEqual(1);
        expect((await as.checkAccessToken(token)).active).toBe(false);
        expect((await admin('GET', '/tenants/acme/connections')).body['connections']).toEqual([]);
        const after = await callTool(aliceKey);
        expect(after.result?.structuredContent?.['error']).toMatchObject({ code: 'connection_required' });
      });

      it('OA-04 (review finding 8c) the callback URL called first without the browser cookie is refused and does not burn the state: the person then completes in Chromium', async () => {
        const created = await admin('POST', '/tenants/acme/connections', { service: 'pets', subject: 'carol' });
        let stolen = 0;
        const done = await connectInChromium(
          created.body['authorizeUrl'] as string,
          `connect-stolen-${backend.name}`,
          async (callbackUrl) => {
            const answer = await fetch(callbackUrl);
            stolen = answer.status;
            await answer.body?.cancel();
          },
        );
        console.log('VISITED', done.visited.join('\n'));
        expect(stolen).toBe(400);
        expect(done.callbackStatus).toBe(200);
        expect(done.text).toContain('Connected Fake API (pets) for carol.');
        const listed = await admin('GET', '/tenants/acme/connections');
        const connections = listed.body['connections'] as { subject: string }[];
        expect(connections.filter((c) => c.subject === 'carol')).toHaveLength(1);
      });
    },
  );
}

const scopedDescription = fileURLToPath(new URL('../../test/fixtures/scoped-api.openapi.yaml', import.meta.url));
const shopResource = 'https://shop.example/api';

for (const backend of backends) {
  describe.skipIf(!backend.enabled || missing !== undefined)(
    `connect-time scopes and a narrower grant (${backend.name})`,
    () => {
      let as: RunningOidcProvider;
      let api: FakeApi;
      let gateway: TestGateway;
      let database: TestDatabase | undefined;

      beforeAll(async () => {
        const port = await freePort();
        const publicUrl = `http://127.0.0.1:${port}`;
        // The provider knows no `items:write` for the API: its consent grants the requested scopes minus that one.
        as = await startOidcProvider({
          redirectUris: [`${publicUrl}/oauth/callback`],
          clientId: 'gatehouse',
          clientSecret,
          resource: shopResource,
          resourceScopes: ['items:read', 'messages:send', 'admin'],
        });
        api = await startFakeApi();
        api.handle(async (request, res) => {
          const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
          const check = token === undefined ? { active: false } : await as.checkAccessToken(token);
          res
            .writeHead(check.active ? 200 : 401, { 'content-type': 'application/json' })
            .end(JSON.stringify({ items: [], scope: check.scope }));
        });
        database = await backend.create();
        const storeUrl = database?.url;
        gateway = await startTestGateway(
          {
            listen: `127.0.0.1:${port}`,
            publicUrl,
            adminToken,
            unsafeAllowPrivateUpstreams: ['127.0.0.1'],
            // This suite tests the OAuth flow, not who opens a link (test/e2e/connect-link-binding): links open alone.
            connectLinks: { unsafeLinkAloneConnects: true },
            tenants: [
              {
                id: 'acme',
                services: [
                  {
                    id: 'shop',
                    openapi: scopedDescription,
                    baseUrl: api.url,
                    auth: {
                      type: 'oauth2',
                      issuer: as.issuer,
                      clientId: 'gatehouse',
                      clientSecret,
                      scopes: ['items:read', 'items:write', 'messages:send', 'admin'],
                      resource: shopResource,
                    },
                  },
                ],
                toolsets: [
                  { id: 'items', tools: ['shop_listItems', 'shop_createItem'], access: 'write', approval: 'none' },
                ],
                clientKeys: [{ name: 'alice-agent', key: aliceKey, toolsets: ['items'], subject: 'alice' }],
              },
            ],
          },
          storeUrl === undefined ? {} : { store: storeUrl },
        );
      });

      afterAll(async () => {
        await gateway?.close();
        await api?.close();
        await as?.close();
        await database?.drop();
      });

      async function rpc(method: string, params: Record<string, unknown>) {
        const response = await fetch(`${gateway.url}/mcp/acme/items`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${aliceKey}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-11-25',
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        });
        return (await response.json()) as {
          result?: {
            isError?: boolean;
            tools?: { name: string }[];
            structuredContent?: Record<string, unknown>;
          };
        };
      }

      it("a tool call's connect link asks for exactly the scopes the toolset's tools need", async () => {
        const before = api.received.length;
        const answer = await rpc('tools/call', { name: 'shop_listItems', arguments: {} });
        const error = answer.result?.structuredContent?.['error'] as { code: string; details: { connectUrl: string } };
        expect(error.code).toBe('connection_required');
        expect(api.received.length).toBe(before);

        const done = await connectInChromium(error.details.connectUrl, `connect-scopes-${backend.name}`);
        const authorize = done.visited.find((u) => u.startsWith(`${as.issuer}/auth?`));
        const requested = new URL(authorize ?? 'http://x').searchParams.get('scope')?.split(' ') ?? [];
        // The configured scopes also list messages:send and admin; no tool of the toolset needs them.
        expect(requested.sort()).toEqual(['items:read', 'items:write']);
        expect(done.callbackStatus).toBe(200);
        expect(done.text).toContain('Connected Scoped API (shop) for alice.');
      });

      it('OA-13 oidc-provider grants fewer scopes than requested: the grant is the returned scope, a tool needing a dropped one is hidden and refused', async () => {
        const returned = String(as.tokenAnswers.at(-1)?.body['scope']).split(' ');
        expect(returned).toEqual(['items:read']);
        const listed = await fetch(`${gateway.url}/api/v1/tenants/acme/connections`, {
          headers: { authorization: `Bearer ${adminToken}` },
        });
        const connections = ((await listed.json()) as { connections: { scopes: string[] }[] }).connections;
        expect(connections).toHaveLength(1);
        expect(connections[0]?.scopes).toEqual(returned);

        const tools = (await rpc('tools/list', {})).result?.tools?.map((tool) => tool.name);
        expect(tools?.filter((name) => name.startsWith('shop_'))).toEqual(['shop_listItems']);

        const before = api.received.length;
        const denied = await rpc('tools/call', { name: 'shop_createItem', arguments: { name: 'x' } });
        expect(denied.result?.isError).toBe(true);
        expect(denied.result?.structuredContent?.['error']).toMatchObject({
          code: 'scope_missing',
          details: { missingScopes: ['items:write'] },
        });
        expect(api.received.length).toBe(before);

        const allowed = await rpc('tools/call', { name: 'shop_listItems', arguments: {} });
        expect(allowed.result?.isError).toBeFalsy();
        expect(api.received.length).toBe(before + 1);
      });
    },
  );
}
