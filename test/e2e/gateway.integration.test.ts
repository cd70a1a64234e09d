import { fileURLToPath } from 'node:url';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_e2e_client_key_0123456789abcdef';
const otherTenantKey = 'gatehouse_sk_e2e_other_tenant_key_0123456789';
const secrets = {
  apiKey: 'upstream-api-key-6f1c2d9e8b7a',
  queryKey: 'upstream-query-key-0a9b8c7d6e',
  bearer: 'upstream-bearer-token-5e4d3c2b1a',
  password: 'upstream-basic-password-9z8y7x',
};

let api: FakeApi;
let gateway: TestGateway;

beforeAll(async () => {
  api = await startFakeApi();
  const service = (id: string, auth: Record<string, unknown>) => ({
    id,
    openapi: description,
    baseUrl: `${api.url}/v1`,
    auth,
  });
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          service('open', { type: 'none' }),
          service('keyed', { type: 'apiKey', in: 'header', name: 'X-API-Key', value: secrets.apiKey }),
          service('queried', { type: 'apiKey', in: 'query', name: 'api_key', value: secrets.queryKey }),
          service('bearer', { type: 'bearer', token: secrets.bearer }),
          service('basic', { type: 'basic', username: 'svc', password: secrets.password }),
        ],
        toolsets: [
          // These tests check the direct tools/list, so it stays direct whatever its size.
          { id: 'all', tools: ['*'], access: 'write', approval: 'none', discovery: { mode: 'never' } },
          { id: 'reader', tools: ['*'], access: 'read', discovery: { mode: 'never' } },
          { id: 'guarded', tools: ['open_*'], access: 'write', approval: 'destructive', discovery: { mode: 'never' } },
        ],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all', 'reader', 'guarded'], subject: 'alice' }],
      },
      {
        id: 'other',
        services: [service('open', { type: 'none' })],
        toolsets: [{ id: 'all', tools: ['*'], access: 'write' }],
        clientKeys: [{ name: 'other-agent', key: otherTenantKey, toolsets: ['all'] }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await api?.close();
});

type AnyClient = {
  listTools(): Promise<{ tools: { name: string; annotations?: Record<string, unknown> }[] }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
};

async function connect(version: 'v1' | 'v2', toolset: string, key = clientKey): Promise<AnyClient> {
  const url = new URL(`${gateway.url}/mcp/acme/${toolset}`);
  // A cookie and a stray API-key header from the client must never reach the upstream (MC-02).
  const headers = { Authorization: `Bearer ${key}`, Cookie: 'session=client-cookie', 'X-Api-Key': 'client-supplied' };
  if (version === 'v1') {
    const client = new ClientV1({ name: 'e2e-v1', version: '1.0.0' });
    await client.connect(new TransportV1(url, { requestInit: { headers } }));
    return client as unknown as AnyClient;
  }
  const client = new ClientV2({ name: 'e2e-v2', version: '1.0.0' });
  await client.connect(new TransportV2(url, { requestInit: { headers } }));
  return client as unknown as AnyClient;
}

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: { type: string; text: string }[];
};

function lastRequest() {
  const request = api.received.at(-1);
  if (request === undefined) throw new Error('the fake API received nothing');
  return request;
}

describe.each(['v1', 'v2'] as const)('the gateway through the %s MCP client', (version) => {
  it('lists the toolset tools with computed annotations', async () => {
    const client = await connect(version, 'all');
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain('keyed_getItem');
    expect(names).toContain('basic_deleteItem');
    expect(tools.find((t) => t.name === 'open_getItem')?.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
    });
    expect(tools.find((t) => t.name === 'open_deleteItem')?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
    });
    const reader = await connect(version, 'reader');
    const readNames = (await reader.listTools()).tools.map((t) => t.name);
    expect(readNames).toContain('open_listItems');
    expect(readNames.some((n) => n.endsWith('_createItem') || n.endsWith('_deleteItem'))).toBe(false);
    await client.close();
    await reader.close();
  });

  it('calls GET with path, query and header parameters', async () => {
    const client = await connect(version, 'all');
    const result = (await client.callTool({
      name: 'open_getItem',
      arguments: { itemId: 'a/b c', expand: ['owner', 'notes'], tags: ['x', 'y'], 'X-Trace': 'trace-1' },
    })) as ToolResult;
    expect(result.isError).toBeFalsy();
    const request = lastRequest();
    expect(request.method).toBe('GET');
    expect(request.url).toBe('/v1/items/a%2Fb%20c?expand=owner,notes&tags=x&tags=y');
    expect(request.headers['x-trace']).toBe('trace-1');
    expect(result.structuredContent).toMatchObject({ method: 'GET', path: '/v1/items/a%2Fb%20c' });
    expect(JSON.parse(result.content[0]!.text)).toEqual(result.structuredContent);
    await client.close();
  });

  it('sends a JSON body and a form body', async () => {
    const client = await connect(version, 'all');
    await client.callTool({
      name: 'open_createItem',
      arguments: { body: { name: 'lamp', price: 12.5, tags: ['new'] } },
    });
    let request = lastRequest();
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(request.body)).toEqual({ name: 'lamp', price: 12.5, tags: ['new'] });
    await client.callTool({ name: 'open_addNote', arguments: { itemId: 'i1', body: { text: 'a&b=c', pinned: true } } });
    request = lastRequest();
    expect(request.path).toBe('/v1/items/i1/notes');
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({ text: 'a&b=c', pinned: 'true' });
    await client.close();
  });

  it('runs DELETE when the toolset needs no approval, and refuses it where approval is required', async () => {
    const client = await connect(version, 'all');
    const result = (await client.callTool({ name: 'open_deleteItem', arguments: { itemId: 'i9' } })) as ToolResult;
    expect(result.isError).toBeFalsy();
    expect(lastRequest()).toMatchObject({ method: 'DELETE', path: '/v1/items/i9' });
    const guarded = await connect(version, 'guarded');
    const before = api.received.length;
    const refused = (await guarded.callTool({ name: 'open_deleteItem', arguments: { itemId: 'i9' } })) as ToolResult;
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toMatchObject({ error: { code: 'approval_required' } });
    expect(api.received.length).toBe(before);
    await client.close();
    await guarded.close();
  });

  it.each([
    ['open', {}, {}],
    ['keyed', { 'x-api-key': secrets.apiKey }, {}],
    ['queried', {}, { api_key: secrets.queryKey }],
    ['bearer', { authorization: `Bearer ${secrets.bearer}` }, {}],
    ['basic', { authorization: `Basic ${Buffer.from(`svc:${secrets.password}`).toString('base64')}` }, {}],
  ] as const)('MC-02 injects only the vault credential for auth %s', async (service, headers, query) => {
    const client = await connect(version, 'all');
    const result = (await client.callTool({ name: `${service}_listItems`, arguments: { limit: 5 } })) as ToolResult;
    expect(result.isError).toBeFalsy();
    const request = lastRequest();
    expect(request.headers).toMatchObject(headers);
    expect(Object.fromEntries(request.query)).toEqual({ limit: '5', ...query });
    expect(request.headers.cookie).toBeUndefined();
    if (service !== 'keyed') expect(request.headers['x-api-key']).toBeUndefined();
    if (service !== 'bearer' && service !== 'basic') expect(request.headers.authorization).toBeUndefined();
    expect(JSON.stringify(request.headers)).not.toContain(clientKey);
    // The credential never comes back to the model, even though the echo includes the query string.
    for (const secret of Object.values(secrets)) expect(JSON.stringify(result)).not.toContain(secret);
    await client.close();
  });

  it('answers invalid arguments with an isError result naming each argument, without calling upstream', async () => {
    const client = await connect(version, 'all');
    const before = api.received.length;
    const result = (await client.callTool({
      name: 'open_createItem',
      arguments: { body: { price: -1 } },
    })) as ToolResult;
    expect(result.isError).toBe(true);
    const error = (result.structuredContent as { error: { code: string; details: { arguments: string[] } } }).error;
    expect(error.code).toBe('invalid_arguments');
    expect(error.details.arguments.join(' ')).toContain('body.name');
    expect(error.details.arguments.join(' ')).toContain('body.price');
    expect(api.received.length).toBe(before);
    await client.close();
  });

  it('makes an unknown tool a protocol error and a read-only toolset refuse writes', async () => {
    const client = await connect(version, 'all');
    await expect(client.callTool({ name: 'open_nope', arguments: {} })).rejects.toThrow(/nope/);
    const reader = await connect(version, 'reader');
    const before = api.received.length;
    const result = (await reader.callTool({
      name: 'open_createItem',
      arguments: { body: { name: 'x' } },
    })) as ToolResult;
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ error: { code: 'access_mode_denied' } });
    expect(api.received.length).toBe(before);
    await client.close();
    await reader.close();
  });
});

describe('endpoint identity', () => {
  const call = (path: string, key: string | undefined) =>
    fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'open_listItems', arguments: {} },
      }),
    });

  it('MC-01 refuses a missing or unknown key with 401 and no upstream call', async () => {
    const before = api.received.length;
    expect((await call('/mcp/acme/all', undefined)).status).toBe(401);
    expect((await call('/mcp/acme/all', 'gatehouse_sk_not_a_real_key_000000000000')).status).toBe(401);
    expect(api.received.length).toBe(before);
  });

  it('MT-01 gives a key of another tenant the same 404 as a nonexistent endpoint', async () => {
    const before = api.received.length;
    const foreign = await call('/mcp/acme/all', otherTenantKey);
    const missing = await call('/mcp/nope/all', otherTenantKey);
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await foreign.text()).toBe(await missing.text());
    expect(api.received.length).toBe(before);
  });

  it('writes exactly one audit record per call, allowed or denied', async () => {
    const before = await gateway.adapters.store.audit.query({ tenantId: 'acme', limit: 1000 });
    const response = await call('/mcp/acme/reader', clientKey);
    expect(response.status).toBe(200);
    const denied = await fetch(`${gateway.url}/mcp/acme/reader`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${clientKey}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'open_deleteItem', arguments: { itemId: 'x' } },
      }),
    });
    expect(denied.status).toBe(200);
    const after = await gateway.adapters.store.audit.query({ tenantId: 'acme', limit: 1000 });
    const added = after.filter((r) => !before.some((b) => b.id === r.id));
    expect(added.map((r) => [r.tool, r.decision, r.code]).sort()).toEqual([
      ['open_deleteItem', 'deny', 'access_mode_denied'],
      ['open_listItems', 'allow', null],
    ]);
    expect(added.every((r) => r.clientKey === 'agent' && r.subject === 'alice' && r.toolset === 'reader')).toBe(true);
    expect(added.find((r) => r.tool === 'open_listItems')).toMatchObject({
      method: 'GET',
      pathTemplate: '/items',
      upstreamStatus: 200,
    });
  });
});
