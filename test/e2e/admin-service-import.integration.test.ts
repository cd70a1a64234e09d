import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 14, services that are not files of the config: a description uploaded as text or fetched from a URL
 * (through the SSRF guard) is previewed without saving (tools, o200k token sizes, read/write class, warnings), then
 * imported: stored with the tenant as `stored:<sha256>`, served live, and called through a toolset. A catalogue
 * provider service takes its secrets as `${env:...}` references only. Bad input answers 422 naming the field and
 * changes nothing.
 */
const fixture = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const text = readFileSync(fixture, 'utf8');
const adminToken = 'admin-token-for-import-tests-0123456789';
const clientKey = `gatehouse_sk_${randomBytes(24).toString('base64url')}`;

let gateway: TestGateway;
let upstream: FakeApi;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}/api/v1/tenants/acme${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    },
  });
const post = (path: string, body: unknown) => api(path, { method: 'POST', body: JSON.stringify(body) });

async function problem(response: Response, status: number): Promise<{ code: string; details: { field: string } }> {
  const body = await response.text();
  expect(response.status, body).toBe(status);
  return JSON.parse(body);
}

const revision = async () => (await gateway.adapters.store.tenantConfigs.read('acme'))?.revision;

let rpcId = 0;
async function rpc(method: string, params: Record<string, unknown>) {
  const response = await fetch(`${gateway.url}/mcp/acme/imported`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  return (await response.json()) as { result?: { tools?: { name: string }[]; isError?: boolean } };
}

beforeAll(async () => {
  upstream = await startFakeApi();
  const tenants = [
    {
      id: 'acme',
      services: [],
      toolsets: [{ id: 'imported', tools: ['pets_*'], discovery: { mode: 'never' } }],
      clientKeys: [{ name: 'agent', key: '${env:AGENT_KEY}', toolsets: ['imported'] }],
    },
  ];
  gateway = await startTestGateway(
    { adminToken, tenants, unsafeAllowPrivateUpstreams: ['127.0.0.1'] },
    { live: { liveCheckMs: 100 }, env: { AGENT_KEY: clientKey } },
  );
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('adding services from descriptions (issue 14)', () => {
  it('previews an uploaded description: tools with token sizes and read/write class, nothing saved', async () => {
    const before = await revision();
    const response = await post('/services/preview', { text, service: 'pets' });
    expect(response.status).toBe(200);
    const preview = (await response.json()) as {
      title: string;
      format: string;
      tools: { name: string; access: string; tokens: number; safety: string }[];
      tokens: number;
      warnings: unknown[];
    };
    expect(preview.title).toBe('Fake API');
    expect(preview.format).toBe('openapi');
    const byName = new Map(preview.tools.map((t) => [t.name, t]));
    expect(byName.get('pets_getItem')).toMatchObject({ access: 'read', safety: 'safe' });
    expect(byName.get('pets_deleteItem')).toMatchObject({ access: 'write', safety: 'destructive' });
    for (const tool of preview.tools) expect(tool.tokens).toBeGreaterThan(10);
    // The whole list costs about the sum of its tools (tokens may merge where two entries meet).
    const sum = preview.tools.reduce((total, t) => total + t.tokens, 0);
    expect(Math.abs(preview.tokens - sum)).toBeLessThan(sum * 0.05);
    expect(Array.isArray(preview.warnings)).toBe(true);
    expect(await revision()).toBe(before);
  });

  it('previews a description fetched from a URL; a host the SSRF guard refuses is a 422 naming url', async () => {
    upstream.handle((_request, res) => void res.writeHead(200, { 'content-type': 'application/yaml' }).end(text));
    const fetched = await post('/services/preview', { url: `${upstream.url}/openapi.yaml` });
    expect(fetched.status).toBe(200);
    expect(((await fetched.json()) as { tools: unknown[] }).tools.length).toBe(5);

    // localhost is not in unsafeAllowPrivateUpstreams: the guard refuses its loopback address.
    const refused = await problem(await post('/services/preview', { url: `http://localhost:${upstream.port}/x` }), 422);
    expect(refused.details.field).toBe('url');
    upstream.handle((_request, res) => void res.writeHead(404).end());
    const missing = await problem(await post('/services/preview', { url: `${upstream.url}/gone.yaml` }), 422);
    expect(missing.details.field).toBe('url');
  });

  it('answers 422 naming the field for bad preview input', async () => {
    const cases: [unknown, string][] = [
      [{}, 'text'],
      [{ text, url: 'https://example.com/x' }, 'text'],
      [{ url: 'not a url' }, 'url'],
      [{ text, format: 'raml' }, 'format'],
      [{ text: 'hello: [' }, 'text'],
      [{ text, format: 'graphql' }, 'text'],
      [{ text, service: 'no spaces' }, 'service'],
    ];
    for (const [body, field] of cases) {
      const answer = await problem(await post('/services/preview', body), 422);
      expect(answer.details.field, JSON.stringify(body).slice(0, 60)).toBe(field);
    }
  });

  it('imports an uploaded description: stored as stored:<sha256>, served live, and its tools called', async () => {
    upstream.handle(
      (request, res) =>
        void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ got: request.path })),
    );
    const created = await post('/services/import', { text, service: { id: 'pets', baseUrl: upstream.url } });
    const body = await created.text();
    expect(created.status, body).toBe(201);
    const service = JSON.parse(body) as { id: string; openapi: string };
    expect(service.openapi).toMatch(/^stored:[0-9a-f]{64}$/);
    expect(created.headers.get('etag')).toMatch(/^"/);
    const stored = await gateway.adapters.store.serviceDescriptions.get('acme', service.openapi.slice(7));
    expect(stored?.text).toBe(text);
    expect(stored?.source).toBe('upload');

    // The gateway follows the stored configuration: the toolset lists the imported tools within its check interval.
    const deadline = Date.now() + 5_000;
    let names: string[] = [];
    while (Date.now() < deadline) {
      names = ((await rpc('tools/list', {})).result?.tools ?? []).map((t) => t.name);
      if (names.includes('pets_getItem')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(names).toContain('pets_getItem');
    const call = await rpc('tools/call', { name: 'pets_getItem', arguments: { itemId: 'a1' } });
    expect(call.result?.isError).toBeFalsy();
    expect(upstream.received.at(-1)?.path).toBe('/items/a1');
  });

  it('refuses a bad import with 422 naming the field as sent, 409 for a taken id, and changes nothing', async () => {
    const before = await revision();
    const cases: [unknown, number, string | undefined][] = [
      [{ text }, 422, 'service'],
      [{ text, service: { baseUrl: upstream.url } }, 422, 'service.id'],
      [{ text, service: { id: 'x', openapi: './other.yaml' } }, 422, 'service.openapi'],
      [{ text, service: { id: 'x', timeoutSeconds: -1 } }, 422, 'service.timeoutSeconds'],
      [{ text, service: { id: 'x', auth: { type: 'bearer', token: 'a-literal-token' } } }, 422, 'service.auth.token'],
      [{ service: { id: 'x' } }, 422, 'text'],
      [{ text: 'not a description', service: { id: 'x' } }, 422, 'text'],
      [{ text, service: { id: 'pets' } }, 409, 'service.id'],
    ];
    for (const [body, status, field] of cases) {
      const answer = await problem(await post('/services/import', body), status);
      expect(answer.details.field, JSON.stringify(body).slice(-80)).toBe(field);
    }
    expect(await revision()).toBe(before);
  });

  it('imports a description fetched from a URL, recording where it came from', async () => {
    upstream.handle((_request, res) => void res.writeHead(200).end(text.replace('Fake API', 'Fetched API')));
    const created = await post('/services/import', {
      url: `${upstream.url}/spec.yaml`,
      service: { id: 'fetched', baseUrl: upstream.url },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { openapi } = (await created.json()) as { openapi: string };
    const stored = await gateway.adapters.store.serviceDescriptions.get('acme', openapi.slice(7));
    expect(stored?.source).toBe(`${upstream.url}/spec.yaml`);
  });

  it('adds a catalogue provider service with ${env:...} secrets; a secret value is refused naming the field', async () => {
    const before = await revision();
    const literal = await problem(
      await post('/services', { provider: 'slack', clientId: '${env:SLACK_ID}', clientSecret: 'xoxp-literal-secret' }),
      422,
    );
    expect(literal.details.field).toBe('clientSecret');
    expect(JSON.stringify(literal)).not.toContain('xoxp-literal-secret');
    const unknown = await problem(await post('/services', { provider: 'slak', clientId: '${env:AGENT_KEY}' }), 422);
    expect(unknown.details.field).toBe('provider');
    expect(await revision()).toBe(before);

    const added = await post('/services', {
      provider: 'slack',
      id: 'slack',
      clientId: '${env:AGENT_KEY}',
      clientSecret: '${env:AGENT_KEY}',
    });
    expect(added.status, await added.clone().text()).toBe(201);
    expect(await added.json()).toEqual({
      provider: 'slack',
      id: 'slack',
      clientId: '${env:AGENT_KEY}',
      clientSecret: '${env:AGENT_KEY}',
    });
  });

  it('finding: a catalogue provider service with an API key, token or password value is refused, not stored', async () => {
    const before = await revision();
    const cases: [Record<string, unknown>, string][] = [
      [{ provider: 'notion', token: 'notion-literal-token-0123' }, 'token'],
      [{ provider: 'stripe', apiKey: 'stripe-literal-key-0123' }, 'apiKey'],
      [{ provider: 'twilio', username: 'AC0123', password: 'twilio-literal-key-0123' }, 'password'],
    ];
    for (const [body, field] of cases) {
      const answer = await problem(await post('/services', body), 422);
      expect(answer.details.field).toBe(field);
      expect(JSON.stringify(answer)).not.toContain('literal');
    }
    expect(await revision()).toBe(before);
  });
});

describe('a service added through the admin API after a restart (issue 14)', () => {
  it('finding: is served again when the gateway restarts with the config file unchanged', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const folder = mkdtempSync(join(tmpdir(), 'gatehouse-restart-'));
    const store = `sqlite:${join(folder, 'gatehouse.db')}`;
    const raw = {
      adminToken,
      masterKey: Buffer.alloc(32, 7).toString('base64'),
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [],
          toolsets: [{ id: 'imported', tools: ['pets_*'], discovery: { mode: 'never' } }],
          clientKeys: [{ name: 'agent', key: '${env:AGENT_KEY}', toolsets: ['imported'] }],
        },
      ],
    };
    const options = { store, live: { liveCheckMs: 100 }, env: { AGENT_KEY: clientKey } };
    const first = await startTestGateway(raw, options);
    const created = await fetch(`${first.url}/api/v1/tenants/acme/services/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text, service: { id: 'pets', baseUrl: upstream.url } }),
    });
    expect(created.status).toBe(201);
    await first.close();

    const second = await startTestGateway(raw, options);
    try {
      const names = async () => {
        const response = await fetch(`${second.url}/mcp/acme/imported`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${clientKey}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
        });
        const body = (await response.json()) as { result?: { tools?: { name: string }[] } };
        return (body.result?.tools ?? []).map((t) => t.name);
      };
      await expect.poll(names, { timeout: 5_000, interval: 100 }).toContain('pets_getItem');
    } finally {
      await second.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
