import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDescription } from '../../src/catalog/index.ts';
import { fetchFromAddress } from '../support/fetch-from-address.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-tests-0123456789';
const clientKey = 'gatehouse_sk_admin_suite_key_0123456789abcdef';
const serviceSecret = 'service-secret-value-abcdef123456';

let api: FakeApi;
let gateway: TestGateway;

beforeAll(async () => {
  api = await startFakeApi();
  gateway = await startTestGateway({
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          {
            id: 'fake',
            openapi: description,
            baseUrl: api.url,
            auth: { type: 'bearer', token: serviceSecret },
          },
        ],
        toolsets: [{ id: 'reader', tools: ['fake_*'] }],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['reader'] }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await api?.close();
});

const admin = (path: string, init: RequestInit = {}, token: string | null = adminToken) =>
  fetch(`${gateway.url}/api/v1${path}`, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
  });

const adminFrom = (localAddress: string, method: string, path: string, token: string) =>
  fetchFromAddress(localAddress, `${gateway.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });

describe('admin API', () => {
  it('MC-09 answers 401 on every admin route without the admin token, and with a wrong one', async () => {
    const description = (await (await admin('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(description.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map(
        (method) => [method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x').replace('/api/v1', '')] as const,
      ),
    );
    expect(routes.length).toBeGreaterThanOrEqual(4);
    // Wrong tokens count against their address's budget (30 a minute, finding admin_token_guessing): they come from
    // another loopback address every 20 routes, so every route is asked, and answers, itself.
    for (const [i, [method, path]] of routes.entries()) {
      expect((await admin(path, { method }, null)).status, `${method} ${path}`).toBe(401);
      const from = `127.0.1.${1 + Math.floor(i / 20)}`;
      expect((await adminFrom(from, method, path, 'wrong-token')).status, `${method} ${path}`).toBe(401);
    }
  });

  it('admin_token_guessing: after 30 wrong tokens in a minute an address is refused every token, the right one too; other addresses are not', async () => {
    const guesser = '127.0.2.1';
    for (let i = 0; i < 30; i++) expect((await adminFrom(guesser, 'GET', '/tenants', `guess-${i}`)).status).toBe(401);
    const refused = await adminFrom(guesser, 'GET', '/tenants', 'guess-30');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await adminFrom(guesser, 'GET', '/tenants', adminToken)).status).toBe(429);
    expect((await admin('/tenants')).status).toBe(200);
  });

  it('describes itself as a valid OpenAPI 3.1 document, and docs/admin-api.md lists every route it describes', async () => {
    const text = await (await admin('/openapi.json')).text();
    const catalog = importDescription({ text, source: 'openapi.json' });
    expect(catalog.problems).toEqual([]);
    const description = JSON.parse(text) as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: unknown }>>;
    };
    const audit = description.paths['/api/v1/tenants/{tenant}/audit']?.['get'];
    expect(audit?.parameters?.map((p) => `${p.in}:${p.name}`)).toContain('query:decision');
    expect(audit?.parameters?.map((p) => `${p.in}:${p.name}`)).toContain('path:tenant');
    const docs = readFileSync(fileURLToPath(new URL('../../docs/admin-api.md', import.meta.url)), 'utf8');
    const listed = new Set(
      [...docs.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) (\/api\/v1\/[^`]*)` \|/gm)].map((m) => `${m[1]} ${m[2]}`),
    );
    const described = Object.entries(description.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(described.filter((route) => !listed.has(route))).toEqual([]);
  });

  it('lists tenants with their endpoints, and keys without any secret', async () => {
    const tenants = (await (await admin('/tenants')).json()) as {
      tenants: { id: string; toolsets: { url: string }[] }[];
    };
    expect(tenants.tenants[0]).toMatchObject({
      id: 'acme',
      toolsets: [{ url: `${gateway.config.publicUrl}/mcp/acme/reader` }],
    });
    const text = await (await admin('/tenants/acme/keys')).text();
    expect(text).toContain('"name":"agent"');
    expect(text).not.toContain(clientKey);
    expect(text).not.toContain(serviceSecret);
    expect((await admin('/tenants/nope/keys')).status).toBe(404);
  });

  it('revokes a client key so the next call is refused', async () => {
    const call = () =>
      fetch(`${gateway.url}/mcp/acme/reader`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${clientKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'fake_listItems', arguments: {} },
        }),
      });
    expect((await call()).status).toBe(200);
    const keys = (await (await admin('/tenants/acme/keys')).json()) as { keys: { id: string }[] };
    const revoked = await admin(`/tenants/acme/keys/${keys.keys[0]?.id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect((await call()).status).toBe(401);
    expect((await admin(`/tenants/acme/keys/${keys.keys[0]?.id}`, { method: 'DELETE' })).status).toBe(404);
  });
});
