/**
 * Issue 14: a tenant configuration change made through one process is enforced by every process without a
 * restart, and a toolset change never drops a call in flight. Three gateways share one PostgreSQL store (and Redis
 * when configured); each has its own connection pool and its own LISTEN connection, as separate processes would.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantDocument } from '../../src/core/index.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { type TestDatabase, testDatabases } from '../support/test-databases.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const postgres = testDatabases('/tmp').find((kind) => kind.name === 'postgres');
const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];
const clientKey = `gatehouse_sk_${randomBytes(24).toString('base64url')}`;
const env = { AGENT_KEY: clientKey };

let api: FakeApi;
let database: TestDatabase;
const processes: TestGateway[] = [];

const tenant = (toolset: Record<string, unknown>): TenantDocument =>
  ({
    id: 'acme',
    services: [{ id: 'fake', openapi: description, baseUrl: '' }],
    toolsets: [{ id: 'reader', tools: ['fake_*'], discovery: { mode: 'never' }, ...toolset }],
    clientKeys: [{ name: 'agent', key: '${env:AGENT_KEY}', toolsets: ['reader'] }],
  }) as TenantDocument;

let rpcId = 0;
async function rpc(url: string, method: string, params: Record<string, unknown>) {
  const response = await fetch(`${url}/mcp/acme/reader`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  return (await response.json()) as {
    result?: { tools?: { name: string }[]; isError?: boolean; structuredContent?: { code?: string } };
  };
}
const toolNames = async (url: string) => ((await rpc(url, 'tools/list', {})).result?.tools ?? []).map((t) => t.name);

/** Milliseconds until `check` holds, polling every 10 ms; fails after `limitMs`. */
async function msUntil(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) throw new Error(`not seen within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

beforeAll(async () => {
  if (!postgres?.enabled) return;
  api = await startFakeApi();
  database = await postgres.create();
  const masterKey = randomBytes(32).toString('base64');
  for (let i = 0; i < 3; i++) {
    const raw = {
      masterKey,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      ...(redisUrl ? { redis: redisUrl } : {}),
      tenants: [tenant({})].map((t) => ({ ...t, services: [{ id: 'fake', openapi: description, baseUrl: api.url }] })),
    };
    processes.push(await startTestGateway(raw, { store: database.url, env, live: {} }));
  }
}, 240_000);

afterAll(async () => {
  for (const p of processes) await p.close();
  await database?.drop();
  await api?.close();
});

describe.skipIf(!postgres?.enabled)('live tenant configuration across three gateways (PostgreSQL)', () => {
  it('a toolset change written through one gateway is served by all three, each within a few seconds', async () => {
    const [a, b, c] = processes as [TestGateway, TestGateway, TestGateway];
    for (const p of processes) expect(await toolNames(p.url)).toContain('fake_listItems');
    const stored = await a.gateway.tenantConfigs?.read('acme');
    expect(stored?.revision).toBe(1);
    const next = {
      ...stored?.config,
      toolsets: [{ ...(stored?.config.toolsets?.[0] ?? {}), exclude: ['fake_listItems'] }],
    };
    const written = await a.gateway.tenantConfigs?.write('acme', next as TenantDocument, {
      expectedRevision: 1,
      actor: 'test',
    });
    expect(written?.revision).toBe(2);
    expect(written?.changes).toEqual([{ kind: 'toolset', id: 'reader', change: 'changed' }]);
    // The figure is 2 s (notices arrive in milliseconds, the 1 s check is the safety net); this machine is
    // shared and loaded, so the test allows 10 s and the bench (S15) measures the p99.
    const seen = await Promise.all(
      [a, b, c].map((p) => msUntil(async () => !(await toolNames(p.url)).includes('fake_listItems'), 10_000)),
    );
    console.log(
      `live tenant config: seen by the three gateways after ${seen.map((ms) => Math.round(ms)).join(', ')} ms`,
    );
    const refused = await rpc(c.url, 'tools/call', { name: 'fake_listItems', arguments: {} });
    expect(refused.result?.isError).toBe(true);
    // A stale write (revision 1 again) is refused and changes nothing.
    await expect(
      b.gateway.tenantConfigs?.write('acme', stored?.config as TenantDocument, { expectedRevision: 1, actor: 'late' }),
    ).rejects.toMatchObject({ code: 'revision_conflict' });
    expect(await toolNames(b.url)).not.toContain('fake_listItems');
  });

  it('a call in flight when its tool is removed finishes normally; the next call is refused', async () => {
    const [a, b] = processes as [TestGateway, TestGateway];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: () => void = () => {};
    const upstreamReached = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    api.handle(async (_request, res) => {
      arrived();
      await held;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'a1', name: 'kept' }));
    });
    const inFlight = rpc(b.url, 'tools/call', { name: 'fake_getItem', arguments: { itemId: 'a1' } });
    await upstreamReached;
    const stored = await a.gateway.tenantConfigs?.read('acme');
    const toolset = stored?.config.toolsets?.[0] ?? {};
    await a.gateway.tenantConfigs?.write(
      'acme',
      { ...stored?.config, toolsets: [{ ...toolset, exclude: ['fake_listItems', 'fake_getItem'] }] } as TenantDocument,
      { expectedRevision: stored?.revision ?? 0, actor: 'test' },
    );
    await msUntil(async () => !(await toolNames(b.url)).includes('fake_getItem'), 10_000);
    release();
    const answer = await inFlight;
    expect(answer.result?.isError).toBeFalsy();
    expect(JSON.stringify(answer.result)).toContain('kept');
    const after = await rpc(b.url, 'tools/call', { name: 'fake_getItem', arguments: { itemId: 'a1' } });
    expect(after.result?.isError).toBe(true);
  });
});
