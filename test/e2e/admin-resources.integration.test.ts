import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { tenantResourceSchemas } from '../../src/core/index.ts';
import { createMemoryTenantConfigs } from '../support/create-memory-tenant-configs.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 14, the admin API's resources of a tenant's configuration document: validated by the config file's schema,
 * `ETag`/`If-Match`, 412 on a stale version, 422 naming the field and changing nothing, pagination, a write that
 * loses a race with another resource's edit applied again, credentials only as references, and who changed what.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-resource-tests-0123456789';

let gateway: TestGateway;
let configs: ReturnType<typeof createMemoryTenantConfigs>;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}/api/v1/tenants/acme${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    },
  });

const service = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  openapi: description,
  baseUrl: 'http://127.0.0.1:9',
  ...extra,
});

beforeAll(async () => {
  const tenants = [
    {
      id: 'acme',
      services: [service('fake')],
      toolsets: [{ id: 'reader', tools: ['fake_*'] }],
    },
  ];
  const probe = await startTestGateway({ adminToken, tenants });
  configs = createMemoryTenantConfigs(probe.config);
  await probe.close();
  gateway = await startTestGateway({ adminToken, tenants }, { tenantConfigs: configs.options });
}, 120_000);

afterAll(async () => {
  await gateway?.close();
});

describe('admin API resources (issue 14)', () => {
  it('creates, reads, replaces and deletes a service; each write is recorded with who made it', async () => {
    const created = await api('/services', { method: 'POST', body: JSON.stringify(service('pets')) });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/v1/tenants/acme/services/pets');
    const etag = created.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    // Stored as written (what `gatehouse export` gives back), not with the schema's defaults filled in.
    expect(await created.json()).toEqual(service('pets'));

    const read = await api('/services/pets');
    expect(read.headers.get('etag')).toBe(etag);

    const replaced = await api('/services/pets', {
      method: 'PUT',
      headers: { 'if-match': etag ?? '' },
      body: JSON.stringify(service('pets', { timeoutSeconds: 5 })),
    });
    expect(replaced.status).toBe(200);
    expect(((await replaced.json()) as { timeoutSeconds: number }).timeoutSeconds).toBe(5);
    expect(replaced.headers.get('etag')).not.toBe(etag);

    expect((await api('/services/pets', { method: 'DELETE' })).status).toBe(200);
    expect((await api('/services/pets')).status).toBe(404);
    expect(configs.writes.slice(-3).map((w) => [w.actor, w.summary])).toEqual([
      ['operator', 'service pets created'],
      ['operator', 'service pets updated'],
      ['operator', 'service pets deleted'],
    ]);
  });

  it('answers 412 to a stale If-Match and changes nothing; an edit of another resource keeps the ETag', async () => {
    const before = (await api('/toolsets/reader')).headers.get('etag') as string;
    // Another resource changes: the toolset's ETag stays valid.
    expect((await api('/limits', { method: 'PUT', body: '{"rateLimit":{"perMinute":600}}' })).status).toBe(200);
    expect((await api('/toolsets/reader')).headers.get('etag')).toBe(before);

    const first = await api('/toolsets/reader', {
      method: 'PUT',
      headers: { 'if-match': before },
      body: JSON.stringify({ id: 'reader', tools: ['fake_getItem'] }),
    });
    expect(first.status).toBe(200);
    const revision = configs.documentOf('acme')?.revision;
    const stale = await api('/toolsets/reader', {
      method: 'PUT',
      headers: { 'if-match': before },
      body: JSON.stringify({ id: 'reader', tools: ['*'] }),
    });
    expect(stale.status).toBe(412);
    expect(((await stale.json()) as { code: string }).code).toBe('precondition_failed');
    expect(configs.documentOf('acme')?.revision).toBe(revision);
    expect((await api('/toolsets/reader', { method: 'DELETE', headers: { 'if-match': before } })).status).toBe(412);
  });

  it('answers 422 naming the field of an invalid resource (relative to the body) and changes nothing', async () => {
    const revision = configs.documentOf('acme')?.revision;
    const cases: [string, RequestInit, string][] = [
      ['/services', { method: 'POST', body: JSON.stringify(service('bad', { baseUrl: 'not a url' })) }, 'baseUrl'],
      ['/services', { method: 'POST', body: JSON.stringify(service('bad', { timeoutSeconds: -1 })) }, 'timeoutSeconds'],
      ['/services', { method: 'POST', body: JSON.stringify(service('bad', { tiemoutSeconds: 5 })) }, 'tiemoutSeconds'],
      ['/toolsets/reader', { method: 'PUT', body: JSON.stringify({ id: 'reader', access: 'all' }) }, 'access'],
      ['/toolsets/reader', { method: 'PUT', body: JSON.stringify({ id: 'other' }) }, 'id'],
      ['/toolsets/reader/approval', { method: 'PUT', body: '{"approval":"sometimes"}' }, 'approval'],
      ['/limits', { method: 'PUT', body: '{"rateLimit":{"perMinute":0}}' }, 'rateLimit.perMinute'],
      ['/limits', { method: 'PUT', body: '{"ratelimit":{}}' }, 'ratelimit'],
    ];
    for (const [path, init, field] of cases) {
      const answer = await api(path, init);
      const problem = (await answer.json()) as { code: string; details: { field: string } };
      expect(answer.status, path).toBe(422);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(problem.code, path).toBe('resource_invalid');
      expect(problem.details.field, `${path} ${init.body}`).toBe(field);
    }
    expect(configs.documentOf('acme')?.revision).toBe(revision);
    expect((await api('/services', { method: 'POST', body: JSON.stringify(service('fake')) })).status).toBe(409);
  });

  it('refuses a credential value (only ${env:NAME} references are stored) and never echoes one', async () => {
    const secret = 'a-real-looking-bearer-token-123456';
    const refused = await api('/services', {
      method: 'POST',
      body: JSON.stringify(service('secret', { auth: { type: 'bearer', token: secret } })),
    });
    expect(refused.status).toBe(422);
    const text = await refused.text();
    expect(text).not.toContain(secret);
    expect((JSON.parse(text) as { details: { field: string } }).details.field).toBe('auth.token');
    const referenced = await api('/services', {
      method: 'POST',
      body: JSON.stringify(service('secret', { auth: { type: 'bearer', token: '${env:SECRET_SERVICE_TOKEN}' } })),
    });
    expect(referenced.status).toBe(201);
    expect(await referenced.json()).toMatchObject({ auth: { type: 'bearer', token: '${env:SECRET_SERVICE_TOKEN}' } });
    await api('/services/secret', { method: 'DELETE' });
  });

  it('applies a write again when another resource was written between its read and its write', async () => {
    configs.interleave((document) => ({ ...document, rateLimit: { perMinute: 42, burst: 42 } }));
    const answer = await api('/toolsets/reader/approval', { method: 'PUT', body: '{"approval":"none"}' });
    expect(answer.status).toBe(200);
    const document = configs.documentOf('acme')?.config;
    expect(document?.rateLimit?.perMinute).toBe(42);
    expect(document?.toolsets?.find((t) => t.id === 'reader')?.approval).toBe('none');
  });

  it('pages through a collection with limit and nextCursor', async () => {
    for (const id of ['p1', 'p2', 'p3']) {
      expect((await api('/services', { method: 'POST', body: JSON.stringify(service(id)) })).status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await api(`/services?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
        items: { id: string }[];
        nextCursor: string | null;
      };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(['fake', 'p1', 'p2', 'p3']);
    expect((await api('/services?limit=0')).status).toBe(400);
    expect((await api('/services?cursor=garbage')).status).toBe(400);
  });

  it('creates a client key shown once (409 for a taken name, 400 naming a bad field), listed by prefix only', async () => {
    const body = JSON.stringify({ name: 'api-made', toolsets: ['reader'], subject: 'alice' });
    const created = await api('/keys', { method: 'POST', body });
    expect(created.status).toBe(201);
    const key = ((await created.json()) as { key: string }).key;
    expect(key).toMatch(/^gatehouse_sk_/);
    const listed = await (await api('/keys')).text();
    expect(listed).toContain('"name":"api-made"');
    expect(listed).not.toContain(key);
    expect((await api('/keys', { method: 'POST', body })).status).toBe(409);
    const bad = await api('/keys', { method: 'POST', body: JSON.stringify({ name: 'x', toolsets: [] }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { details: { field: string } }).details.field).toBe('toolsets');
    const listing = await fetch(`${gateway.url}/mcp/acme/reader`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(listing.status).toBe(200);
  });

  it('describes request bodies with the JSON Schema of the config file schema itself', async () => {
    const document = (await (
      await fetch(`${gateway.url}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
    };
    const schemaOf = (path: string, method: string) =>
      document.paths[`/api/v1/tenants/{tenant}${path}`]?.[method]?.requestBody?.content['application/json']?.schema;
    const { $schema: _s, ...toolset } = z.toJSONSchema(tenantResourceSchemas.toolset, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
    });
    expect(schemaOf('/toolsets', 'post')).toEqual(toolset);
    expect(schemaOf('/toolsets/{toolset}', 'put')).toEqual(toolset);
    expect(JSON.stringify(schemaOf('/services', 'post'))).toContain('"timeoutSeconds"');
  });
});
