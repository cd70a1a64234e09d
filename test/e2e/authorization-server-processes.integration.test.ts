import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway, GatewayUsers } from '../../src/gateway/index.ts';
import { freePort } from '../support/free-port.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { type TestDatabase, testDatabases } from '../support/test-databases.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const redirectUri = 'http://127.0.0.1:7779/callback';
const postgres = testDatabases('/tmp').find((kind) => kind.name === 'postgres');

const users: Pick<GatewayUsers, 'signedInUser'> = {
  async signedInUser(tenant, cookie) {
    const id = /(?:^|;\s*)test_user=([a-z0-9-]+)/.exec(cookie ?? '')?.[1];
    return id === undefined || tenant !== 'acme' ? undefined : { id, tenant, name: id, displayName: id };
  },
};

let api: FakeApi;
let database: TestDatabase;
const processes: TestGateway[] = [];
let publicUrl: string;

beforeAll(async () => {
  if (!postgres?.enabled) return;
  api = await startFakeApi();
  database = await postgres.create();
  const masterKey = randomBytes(32).toString('base64');
  const ports = [await freePort(), await freePort(), await freePort()];
  publicUrl = `http://127.0.0.1:${ports[0]}`;
  for (const port of ports) {
    processes.push(
      await startTestGateway(
        {
          masterKey,
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
          store: database.url,
          port,
          publicUrl,
          extendGateway: (g: Gateway) => ({ ...g, users: { ...(g.users as GatewayUsers), ...users } }),
        },
      ),
    );
  }
});

afterAll(async () => {
  for (const p of processes) await p.close();
  await database?.drop();
  await api?.close();
});

describe.skipIf(!postgres?.enabled)('the authorization server across processes (PostgreSQL)', () => {
  it('a code issued by one process is redeemed at a second, used at the MCP endpoint of the second and refreshed at a third', async () => {
    const [a, b, c] = processes as [TestGateway, TestGateway, TestGateway];
    const registered = await fetch(`${a.url}/oauth/acme/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', client_name: 'multi' }),
    });
    const clientId = ((await registered.json()) as { client_id: string }).client_id;
    const verifier = randomBytes(32).toString('base64url');
    const resource = `${publicUrl}/mcp/acme/reader`;
    const params = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      scope: 'mcp',
      resource,
    });
    // The browser steps, each at a different process (cookies carry the state, the store holds it).
    const cookies = new Map<string, string>();
    const take = (r: Response) => {
      for (const line of r.headers.getSetCookie()) {
        const pair = line.split(';')[0] ?? '';
        cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
      }
    };
    const jar = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let response = await fetch(`${a.url}/oauth/acme/auth?${params}`, { redirect: 'manual' });
    take(response);
    let location = response.headers.get('location') ?? '';
    const hosts = [b, c, a, b, c, a];
    for (let hop = 0; hop < 6 && !location.startsWith(redirectUri); hop++) {
      const at = hosts[hop] as TestGateway;
      const url = new URL(new URL(location, publicUrl).pathname + new URL(location, publicUrl).search, at.url);
      const headers = { cookie: `${jar()}; test_user=carol`, origin: publicUrl };
      response = await fetch(url, { headers, redirect: 'manual' });
      take(response);
      if (response.status === 200) {
        response = await fetch(url, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'decision=allow',
          redirect: 'manual',
        });
        take(response);
      }
      location = response.headers.get('location') ?? '';
    }
    const code = new URL(location).searchParams.get('code') ?? '';
    const token = async (at: TestGateway, body: Record<string, string>) => {
      const r = await fetch(`${at.url}/oauth/acme/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body),
      });
      return { status: r.status, body: (await r.json()) as Record<string, string> };
    };
    const issued = await token(b, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
      client_id: clientId,
      resource,
    });
    expect(issued.status).toBe(200);
    const list = (at: TestGateway, bearer: string) =>
      fetch(`${at.url}/mcp/acme/reader`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bearer}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-11-25',
          origin: publicUrl,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
    expect((await list(b, issued.body['access_token'] as string)).status).toBe(200);
    const refreshed = await token(c, {
      grant_type: 'refresh_token',
      refresh_token: issued.body['refresh_token'] as string,
      client_id: clientId,
      resource,
    });
    expect(refreshed.status).toBe(200);
    expect((await list(a, refreshed.body['access_token'] as string)).status).toBe(200);
    // The old refresh token, replayed at yet another process, revokes the family everywhere.
    const replay = await token(a, {
      grant_type: 'refresh_token',
      refresh_token: issued.body['refresh_token'] as string,
      client_id: clientId,
      resource,
    });
    expect(replay.body['error']).toBe('invalid_grant');
    await new Promise((r) => setTimeout(r, 1_100)); // other processes' verified-token cache (1 s)
    expect((await list(b, refreshed.body['access_token'] as string)).status).toBe(401);
  });
});
