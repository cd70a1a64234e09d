import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOAuthConnection } from '../support/seed-oauth-connection.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { type FakeRefreshServer, startFakeRefreshServer } from '../support/start-fake-refresh-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Which connection an OAuth call uses, and how often it is read: the caller's own subject's connection only (a
 * key never borrows the tenant's `shared` account), read once per call and used for both the scope check and the
 * token sent.
 */

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const aliceKey = 'gatehouse_sk_connection_reads_alice_01234567';
const carolKey = 'gatehouse_sk_connection_reads_carol_01234567';

let api: FakeApi;
let as: FakeRefreshServer;
let gateway: TestGateway;
let finds = 0;

beforeAll(async () => {
  api = await startFakeApi();
  as = await startFakeRefreshServer();
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          {
            id: 'fake',
            openapi: description,
            baseUrl: api.url,
            auth: { type: 'oauth2', tokenUrl: as.tokenUrl, clientId: as.clientId, clientSecret: as.clientSecret },
          },
        ],
        toolsets: [{ id: 'all', tools: ['*'], access: 'read' }],
        clientKeys: [
          { name: 'alice', key: aliceKey, toolsets: ['all'], subject: 'alice' },
          { name: 'carol', key: carolKey, toolsets: ['all'], subject: 'carol' },
        ],
      },
    ],
  });
  const { store } = gateway.adapters;
  for (const [id, subject] of [
    ['c-alice', 'alice'],
    ['c-shared', 'shared'],
  ] as const) {
    await seedOAuthConnection(gateway.adapters, as, {
      tenantId: 'acme',
      id,
      service: 'fake',
      subject,
      accessExpiresAt: Date.now() + 3_600_000,
    });
  }
  const find = store.connections.find.bind(store.connections);
  store.connections.find = (...args) => {
    finds += 1;
    return find(...args);
  };
});

afterAll(async () => {
  await gateway?.close();
  await as?.close();
  await api?.close();
});

async function call(key: string) {
  const response = await fetch(`${gateway.url}/mcp/acme/all`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'fake_getItem', arguments: { itemId: 'one' } },
    }),
  });
  return (await response.json()) as {
    result: { isError?: boolean; structuredContent?: { error?: { code?: string } } };
  };
}

describe('OAuth connection of a call', () => {
  it('is read once per call, for the scope check and the token alike', async () => {
    await call(aliceKey); // the first call may load more (the token cache of the refresh engine)
    finds = 0;
    for (let i = 0; i < 5; i++) expect((await call(aliceKey)).result.isError).toBeUndefined();
    expect(finds).toBe(5);
  });

  it("a key of another subject does not borrow the tenant's shared connection", async () => {
    const before = api.received.length;
    const answer = await call(carolKey);
    expect(answer.result.structuredContent?.error?.code).toBe('connection_required');
    expect(api.received.length).toBe(before);
  });
});
