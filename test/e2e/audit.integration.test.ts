import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/store/index.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_audit_e2e_key_0123456789abcdef';
const otherKey = 'gatehouse_sk_audit_e2e_other_0123456789abcd';
const adminToken = 'audit-e2e-admin-token-0123456789';
const apiKey = 'upstream-api-key-audit-7d6c5b4a39';
const canary = 'argument-canary-9f8e7d6c5b4a';

let api: FakeApi;
let gateway: TestGateway;

beforeAll(async () => {
  api = await startFakeApi();
  const service = (id: string, auth: Record<string, unknown> = { type: 'none' }) => ({
    id,
    openapi: description,
    baseUrl: `${api.url}/v1`,
    auth,
  });
  gateway = await startTestGateway({
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [service('open')],
        toolsets: [
          { id: 'all', tools: ['*'], access: 'write', approval: 'none' },
          { id: 'reader', tools: ['*'], access: 'read' },
          { id: 'limited', tools: ['*'], access: 'read', rateLimit: { perMinute: 1, burst: 1 } },
        ],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all', 'reader', 'limited'], subject: 'alice' }],
      },
      {
        id: 'other',
        services: [service('keyed', { type: 'apiKey', in: 'header', name: 'X-API-Key', value: apiKey })],
        toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none' }],
        clientKeys: [{ name: 'other-agent', key: otherKey, toolsets: ['all'], subject: 'bob' }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await api?.close();
});

let rpcId = 0;
async function callTool(
  toolset: string,
  name: string,
  args: Record<string, unknown>,
  key = clientKey,
  tenant = 'acme',
) {
  const response = await fetch(`${gateway.url}/mcp/${tenant}/${toolset}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method: 'tools/call', params: { name, arguments: args } }),
  });
  const body = (await response.json()) as {
    result?: { isError?: boolean; structuredContent?: { error?: { code?: string } } };
  };
  return {
    requestId: response.headers.get('x-request-id') ?? '',
    body,
    code: body.result?.structuredContent?.error?.code,
  };
}

async function records(tenant = 'acme'): Promise<readonly AuditRecord[]> {
  await gateway.adapters.audit?.flush();
  return gateway.adapters.store.audit.query({ tenantId: tenant, limit: 10_000 });
}

async function admin(path: string, token: string | null = adminToken) {
  return fetch(`${gateway.url}/api/v1${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
}

const closedSchema = [
  'at',
  'clientKey',
  'code',
  'decision',
  'detail',
  'event',
  'fingerprint',
  'hash',
  'id',
  'kind',
  'latencyMs',
  'method',
  'pathTemplate',
  'prevHash',
  'requestId',
  'seq',
  'subject',
  'target',
  'tenantId',
  'tool',
  'toolset',
  'upstreamStatus',
];

describe('audit log end to end', () => {
  it('AU-01 every tool call (allowed, denied, rate-limited, failed) writes exactly one tool_call record of the closed schema', async () => {
    api.handle((request, res) => {
      if (request.path.endsWith('/items/boom')) res.writeHead(500, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"1"}');
    });
    const calls = [
      { call: await callTool('all', 'open_getItem', { itemId: canary }), decision: 'allow', code: null },
      { call: await callTool('all', 'open_createItem', { body: { name: canary } }), decision: 'allow', code: null },
      { call: await callTool('all', 'open_noSuchTool', {}), decision: 'deny', code: 'tool_not_found' },
      { call: await callTool('reader', 'open_createItem', { body: { name: 'x' } }), decision: 'deny', code: null },
      { call: await callTool('all', 'open_getItem', {}), decision: 'deny', code: 'invalid_arguments' },
      { call: await callTool('limited', 'open_listItems', {}), decision: 'allow', code: null },
      { call: await callTool('limited', 'open_listItems', {}), decision: 'deny', code: 'rate_limited' },
      { call: await callTool('all', 'open_getItem', { itemId: 'boom' }), decision: 'error', code: null },
    ];
    api.handle((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const all = await records();
    for (const { call, decision, code } of calls) {
      const mine = all.filter((r) => r.requestId === call.requestId && r.kind === 'tool_call');
      expect(mine, `one tool_call record for ${call.requestId}`).toHaveLength(1);
      const [record] = mine as [AuditRecord];
      expect(Object.keys(record).sort()).toEqual(closedSchema);
      expect(record.decision, `${record.tool} ${record.code}`).toBe(decision);
      if (code !== null) expect(record.code).toBe(code);
    }
    // The write call also has its intent record, written before the upstream request (AU-03); safe calls have none.
    const [, write] = calls;
    expect(all.filter((r) => r.requestId === write?.call.requestId).map((r) => r.kind)).toEqual([
      'tool_intent',
      'tool_call',
    ]);
    expect(all.filter((r) => r.kind === 'tool_intent')).toHaveLength(1);
    expect(JSON.stringify(all)).not.toContain(canary);
    const verified = await admin('/tenants/acme/audit?limit=1');
    expect(verified.status).toBe(200);
  });

  it('AU-03 when the audit record cannot be written, a write tool never reaches the upstream', async () => {
    const repository = gateway.adapters.store.audit;
    const appendBatch = repository.appendBatch;
    repository.appendBatch = () => Promise.reject(new Error('disk full'));
    const before = api.received.length;
    try {
      const write = await callTool('all', 'open_createItem', { body: { name: 'x' } });
      expect(write.body.result?.isError).toBe(true);
      expect(write.code).toBe('audit_unavailable');
      const destructive = await callTool('all', 'open_deleteItem', { itemId: '7' });
      expect(destructive.code).toBe('audit_unavailable');
      expect(api.received.length).toBe(before);
    } finally {
      repository.appendBatch = appendBatch;
    }
    const write = await callTool('all', 'open_createItem', { body: { name: 'x' } });
    expect(write.body.result?.isError).toBeFalsy();
    expect(api.received.length).toBe(before + 1);
  });

  it('ST-03 a failed decryption writes a decrypt_failed security record', async () => {
    await gateway.adapters.vault.destroyTenantKeys('other');
    const failed = await callTool('all', 'keyed_getItem', { itemId: '1' }, otherKey, 'other');
    expect(failed.code).toBe('decrypt_failed');
    const all = await records('other');
    const security = all.filter((r) => r.kind === 'security');
    expect(security).toHaveLength(1);
    expect(security[0]).toMatchObject({
      event: 'decrypt_failed',
      decision: 'error',
      code: 'decrypt_failed',
      target: 'service:keyed/credential',
    });
    expect(all.filter((r) => r.kind === 'tool_call' && r.requestId === failed.requestId)).toHaveLength(1);
  });

  it('MC-09 the audit admin routes answer 401 without the admin token', async () => {
    for (const path of ['/tenants/acme/audit', '/tenants/acme/audit/export']) {
      expect((await admin(path, null)).status).toBe(401);
      expect((await admin(path, 'wrong-token')).status).toBe(401);
    }
  });

  it('the audit query filters by tool, decision, subject, status and time, and pages with an opaque cursor', async () => {
    const all = await records();
    const get = async (query: string) => {
      const response = await admin(`/tenants/acme/audit?${query}`);
      expect(response.status).toBe(200);
      return (await response.json()) as { records: { seq: number; [k: string]: unknown }[]; nextCursor: string | null };
    };
    const seqs = (list: readonly { seq?: number }[]) => list.map((r) => r.seq).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(seqs((await get('tool=open_createItem&limit=1000')).records)).toEqual(
      seqs(all.filter((r) => r.tool === 'open_createItem')),
    );
    expect(seqs((await get('decision=deny&limit=1000')).records)).toEqual(
      seqs(all.filter((r) => r.decision === 'deny')),
    );
    expect(seqs((await get('status=500&limit=1000')).records)).toEqual(
      seqs(all.filter((r) => r.upstreamStatus === 500)),
    );
    expect((await get('subject=alice&limit=1000')).records).toHaveLength(
      all.filter((r) => r.subject === 'alice').length,
    );
    expect((await get('subject=nobody')).records).toEqual([]);
    const middle = all[3] as AuditRecord;
    expect(seqs((await get(`since=${new Date(middle.at).toISOString()}&order=asc&limit=1000`)).records)).toEqual(
      seqs(all.filter((r) => r.at >= middle.at)),
    );
    expect(seqs((await get(`until=${middle.at}&limit=1000`)).records)).toEqual(
      seqs(all.filter((r) => r.at < middle.at)),
    );

    // Newest first, three at a time, until the cursor runs out: every record exactly once.
    const seen: number[] = [];
    let page = await get('limit=3');
    for (let guard = 0; guard < 100; guard++) {
      seen.push(...page.records.map((r) => r.seq));
      if (page.nextCursor === null) break;
      expect(page.nextCursor).not.toMatch(/^\d+$/);
      page = await get(`limit=3&cursor=${page.nextCursor}`);
    }
    expect(seen).toEqual(all.map((r) => r.seq).reverse());

    for (const bad of ['decision=maybe', 'status=abc', 'limit=0', 'limit=5000', 'cursor=nonsense', 'since=yesterday']) {
      expect((await admin(`/tenants/acme/audit?${bad}`)).status).toBe(400);
    }
    expect((await admin('/tenants/nope/audit')).status).toBe(404);
  });

  it('audit_filter_typo_returns_everything: a query parameter the audit routes do not know is refused, naming it, not ignored', async () => {
    // Before: `?subjct=alice` answered 200 with every subject's records, read as alice's by whoever made the typo.
    for (const path of ['/tenants/acme/audit?subjct=alice', '/tenants/acme/audit/export?decison=deny']) {
      const response = await admin(path);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { code: string; detail: string; details: { parameter: string } };
      expect(body.code).toBe('invalid_request');
      expect(body.details.parameter).toBe(path.includes('subjct') ? 'subjct' : 'decison');
      expect(body.detail).toMatch(/subject|decision/);
    }
  });

  it('exports the log as streamed NDJSON, oldest first, with the chain fields', async () => {
    const all = await records();
    const response = await admin('/tenants/acme/audit/export');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await response.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(all.length);
    const parsed = lines.map((line) => JSON.parse(line) as { seq: number; hash: string; prevHash: string });
    expect(parsed.map((r) => r.seq)).toEqual(all.map((r) => r.seq));
    for (let i = 1; i < parsed.length; i++) expect(parsed[i]?.prevHash).toBe(parsed[i - 1]?.hash);
    const filtered = await (await admin('/tenants/acme/audit/export?kind=tool_intent')).text();
    expect(
      filtered
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).kind),
    ).toEqual(all.filter((r) => r.kind === 'tool_intent').map(() => 'tool_intent'));
  });
});
