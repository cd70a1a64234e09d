import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];
const keys = {
  alice: 'gatehouse_sk_limits_alice_0123456789abcdef',
  bob: 'gatehouse_sk_limits_bob_0123456789abcdefgh',
  carol: 'gatehouse_sk_limits_carol_0123456789abcdef',
};
/** Upstream API keys per tenant; the fake API answers with the tenant a key belongs to, never the key. */
const upstreamKeys: Record<string, string> = {
  'upstream-key-of-tenant-a-1f2e3d': 'tenant-a',
  'upstream-key-of-tenant-b-9c8b7a': 'tenant-b',
};

interface ToolAnswer {
  readonly isError?: boolean;
  readonly structuredContent?: Record<string, unknown> & { error?: { code: string; details: Record<string, unknown> } };
}

async function callTool(
  gateway: TestGateway,
  path: string,
  key: string,
  name: string,
  args: Record<string, unknown>,
): Promise<ToolAnswer> {
  const response = await fetch(`${gateway.url}/mcp/${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
  const body = (await response.json()) as { result?: ToolAnswer; error?: unknown };
  if (body.result === undefined) throw new Error(`no result: ${JSON.stringify(body)}`);
  return body.result;
}

/** The fake API: items answer with the tenant their key belongs to; `/v1/items/private` is `Cache-Control: private`. */
function serveItems(api: FakeApi, delay: () => number = () => 0) {
  api.handle(async (request, res) => {
    const tenant = upstreamKeys[String(request.headers['x-api-key'])] ?? 'unknown';
    const wait = delay();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (request.path.endsWith('/private')) headers['cache-control'] = 'private, max-age=600';
    res.writeHead(request.method === 'POST' ? 201 : 200, headers);
    res.end(JSON.stringify({ tenant, path: request.path, n: api.received.length }));
  });
}

function tenantConfig(
  id: string,
  apiKey: string,
  clientKeys: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
) {
  return {
    id,
    services: [
      {
        id: 'shop',
        openapi: description,
        baseUrl: `${apiUrl}/v1`,
        auth: { type: 'apiKey', in: 'header', name: 'X-API-Key', value: apiKey },
      },
    ],
    toolsets: [
      { id: 'limited', access: 'read', rateLimit: { perMinute: 10, burst: 10 } },
      { id: 'narrow', access: 'read', limits: { concurrency: { perKey: 1 } } },
      { id: 'cached', access: 'write', approval: 'none', results: { cache: { ttlSeconds: 60 } } },
      { id: 'open', access: 'read' },
    ],
    clientKeys,
    ...extra,
  };
}

let apiUrl = '';
const allToolsets = ['limited', 'narrow', 'cached', 'open'];

describe('limits and cache through the gateway', () => {
  let api: FakeApi;
  let gateway: TestGateway;

  beforeAll(async () => {
    api = await startFakeApi();
    apiUrl = api.url;
    gateway = await startTestGateway({
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        tenantConfig('ta', 'upstream-key-of-tenant-a-1f2e3d', [
          { name: 'alice', key: keys.alice, toolsets: allToolsets, subject: 'alice' },
          { name: 'bob', key: keys.bob, toolsets: allToolsets, subject: 'bob' },
        ]),
        tenantConfig('tb', 'upstream-key-of-tenant-b-9c8b7a', [
          { name: 'carol', key: keys.carol, toolsets: allToolsets, subject: 'carol' },
        ]),
      ],
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await api?.close();
  });

  const received = (method: string, path: string) =>
    api.received.filter((r) => r.method === method && r.path === path).length;

  it('RL-04 tenant A at ten times its limit leaves tenant B unaffected; RL-05 every refusal has a retry time', async () => {
    serveItems(api);
    api.received.length = 0;
    const a = await Promise.all(
      Array.from({ length: 100 }, () => callTool(gateway, 'ta/limited', keys.alice, 'shop_listItems', {})),
    );
    const refused = a.filter((r) => r.isError);
    expect(a.length - refused.length).toBe(10);
    for (const r of refused) {
      expect(r.structuredContent?.error?.code).toBe('rate_limited');
      expect(r.structuredContent?.error?.details['limit']).toBe('toolset');
      expect(r.structuredContent?.error?.details['retryAfterSeconds']).toBeGreaterThanOrEqual(1);
    }
    const b = await Promise.all(
      Array.from({ length: 10 }, () => callTool(gateway, 'tb/limited', keys.carol, 'shop_listItems', {})),
    );
    expect(b.filter((r) => r.isError)).toEqual([]);
    expect(api.received).toHaveLength(20);
  });

  it('RL-05 a concurrency refusal names its limit and carries a retry time; the slot is freed afterwards', async () => {
    serveItems(api, () => 200);
    const [first, second] = await Promise.all([
      callTool(gateway, 'ta/narrow', keys.alice, 'shop_listItems', {}),
      new Promise<ToolAnswer>((resolve) =>
        setTimeout(() => resolve(callTool(gateway, 'ta/narrow', keys.alice, 'shop_listItems', {})), 50),
      ),
    ]);
    expect(first.isError).toBeUndefined();
    expect(second.structuredContent?.error).toMatchObject({
      code: 'rate_limited',
      details: { limit: 'concurrency.perKey', retryAfterSeconds: 1 },
    });
    serveItems(api);
    expect((await callTool(gateway, 'ta/narrow', keys.alice, 'shop_listItems', {})).isError).toBeUndefined();
  });

  it('CA-01 two tenants and two subjects with identical arguments get separate upstream calls and their own data', async () => {
    serveItems(api);
    api.received.length = 0;
    const callers = [
      ['ta', keys.alice, 'tenant-a'],
      ['ta', keys.bob, 'tenant-a'],
      ['tb', keys.carol, 'tenant-b'],
    ] as const;
    const audited = async () => {
      await gateway.adapters.audit?.flush();
      const records = [
        ...(await gateway.adapters.store.audit.query({ tenantId: 'ta', limit: 10_000 })),
        ...(await gateway.adapters.store.audit.query({ tenantId: 'tb', limit: 10_000 })),
      ].filter((r) => r.kind === 'tool_call' && r.toolset === 'cached' && r.tool === 'shop_getItem');
      return {
        cached: records.filter((r) => r.detail === 'cached' && r.upstreamStatus === null).length,
        upstream: records.filter((r) => r.detail === null && r.upstreamStatus === 200).length,
      };
    };
    const before = await audited();
    for (let round = 0; round < 3; round++) {
      for (const [tenant, key, expected] of callers) {
        const answer = await callTool(gateway, `${tenant}/cached`, key, 'shop_getItem', { itemId: 'ca01' });
        expect(answer.structuredContent?.['tenant']).toBe(expected);
      }
    }
    expect(received('GET', '/v1/items/ca01')).toBe(3);
    // AU-01: one record per call; the six answered from the cache say so.
    const after = await audited();
    expect({ cached: after.cached - before.cached, upstream: after.upstream - before.upstream }).toEqual({
      cached: 6,
      upstream: 3,
    });
  });

  it('CA-02 a Cache-Control: private answer and a POST are never served from the cache', async () => {
    serveItems(api);
    api.received.length = 0;
    for (let i = 0; i < 3; i++) {
      await callTool(gateway, 'ta/cached', keys.alice, 'shop_getItem', { itemId: 'private' });
      await callTool(gateway, 'ta/cached', keys.alice, 'shop_createItem', { body: { name: 'x' } });
    }
    expect(received('GET', '/v1/items/private')).toBe(3);
    expect(received('POST', '/v1/items')).toBe(3);
  });

  it('CA-03 a write tool on the service invalidates the connection cached reads', async () => {
    serveItems(api);
    api.received.length = 0;
    const read = () => callTool(gateway, 'ta/cached', keys.alice, 'shop_getItem', { itemId: 'ca03' });
    const first = await read();
    expect((await read()).structuredContent).toEqual(first.structuredContent);
    expect(received('GET', '/v1/items/ca03')).toBe(1);
    await callTool(gateway, 'ta/cached', keys.bob, 'shop_deleteItem', { itemId: 'other' });
    const after = await read();
    expect(received('GET', '/v1/items/ca03')).toBe(2);
    expect(after.structuredContent?.['n']).not.toBe(first.structuredContent?.['n']);
    // Tenant B's cached read of the same item is untouched by tenant A's write.
    await callTool(gateway, 'tb/cached', keys.carol, 'shop_getItem', { itemId: 'ca03' });
    await callTool(gateway, 'ta/cached', keys.alice, 'shop_deleteItem', { itemId: 'other' });
    await callTool(gateway, 'tb/cached', keys.carol, 'shop_getItem', { itemId: 'ca03' });
    expect(received('GET', '/v1/items/ca03')).toBe(3);
  });

  it('MT-07 2 tenants x 500 interleaved concurrent calls with random upstream delays: each gets only its own data', async () => {
    serveItems(api, () => Math.floor(Math.random() * 15));
    const calls = Array.from({ length: 1000 }, (_, i) => {
      const tenant = i % 2 === 0 ? 'ta' : 'tb';
      const key = tenant === 'ta' ? (i % 4 === 0 ? keys.alice : keys.bob) : keys.carol;
      return callTool(gateway, `${tenant}/open`, key, 'shop_getItem', { itemId: `mt${i % 7}` }).then((answer) => ({
        tenant,
        answer,
      }));
    });
    const results = await Promise.all(calls);
    const wrong = results.filter(
      ({ tenant, answer }) => answer.structuredContent?.['tenant'] !== (tenant === 'ta' ? 'tenant-a' : 'tenant-b'),
    );
    expect(wrong).toEqual([]);
  });
});

describe.skipIf(!redisUrl)('limits and cache across two gateway processes sharing Redis', () => {
  let api: FakeApi;
  let first: TestGateway;
  let second: TestGateway;
  // Fresh tenant ids: Redis outlives the test run.
  const tenant = `t${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    api = await startFakeApi();
    apiUrl = api.url;
    const config = {
      redis: redisUrl,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        tenantConfig(tenant, 'upstream-key-of-tenant-a-1f2e3d', [
          { name: 'alice', key: keys.alice, toolsets: allToolsets, subject: 'alice' },
        ]),
      ],
    };
    first = await startTestGateway(config);
    second = await startTestGateway(config);
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await api?.close();
  });

  it('RL-02 the toolset limit is shared: 30 calls over two gateways admit exactly 10', async () => {
    serveItems(api);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        callTool(i % 2 === 0 ? first : second, `${tenant}/limited`, keys.alice, 'shop_listItems', {}),
      ),
    );
    expect(answers.filter((a) => !a.isError)).toHaveLength(10);
  });

  it('CA-03 a write through one gateway invalidates the reads cached by the other', async () => {
    serveItems(api);
    api.received.length = 0;
    const read = (gateway: TestGateway) =>
      callTool(gateway, `${tenant}/cached`, keys.alice, 'shop_getItem', { itemId: 'shared' });
    await read(first);
    await read(second);
    expect(api.received.filter((r) => r.path === '/v1/items/shared')).toHaveLength(1);
    await callTool(second, `${tenant}/cached`, keys.alice, 'shop_deleteItem', { itemId: 'x' });
    await read(first);
    expect(api.received.filter((r) => r.path === '/v1/items/shared')).toHaveLength(2);
  });
});
