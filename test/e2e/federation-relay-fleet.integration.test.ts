import { randomBytes } from 'node:crypto';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LegacyMcpUpstream,
  registerAskingTool,
  startLegacyMcpUpstream,
  startModernMcpUpstream,
} from '../support/start-mcp-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { type TestDatabase, testDatabases } from '../support/test-databases.ts';

/**
 * Issue 12, federation in a fleet: a federated server's elicitation relayed to a 2026-07-28 client by the
 * multi-round-trip pattern, when the client's retry lands on another gateway process than its first request (a
 * load balancer without affinity). Two gateways in this test process share one PostgreSQL store and one Redis, as
 * `gatehouse serve` processes of a fleet do; the official SDK 2.x client sends its first request to A and its retry
 * to B through a fetch that routes by the body.
 */
const postgres = testDatabases('/tmp').find((kind) => kind.name === 'postgres');
const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];
const enabled = postgres?.enabled === true && redisUrl !== undefined;
if (!enabled && process.env['CI'] === 'true') {
  throw new Error('federation-relay-fleet needs GATEHOUSE_TEST_POSTGRES and GATEHOUSE_TEST_REDIS in CI');
}

const agentKey = `gatehouse_sk_${randomBytes(24).toString('base64url')}`;
const otherKey = `gatehouse_sk_${randomBytes(24).toString('base64url')}`;
const globexKey = `gatehouse_sk_${randomBytes(24).toString('base64url')}`;

/** The names the server received as answers, in order. */
const answers: string[] = [];

let upstream: LegacyMcpUpstream;
/** A 2026-07-28 server asking through its result (`input_required`), and the names it was answered. */
let modern: { url: string; close(): Promise<void> };
const modernNames: string[] = [];
let database: TestDatabase;
let a: TestGateway;
let b: TestGateway;
const started: TestGateway[] = [];

const tenant = (id: string, key: string, extraKeys: Record<string, unknown>[] = []) => ({
  id,
  services: [
    { id: 'linear', mcp: upstream.url },
    { id: 'modern', mcp: modern.url },
  ],
  toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none', discovery: { mode: 'never' } }],
  clientKeys: [{ name: 'agent', key, toolsets: ['all'], subject: 'alice' }, ...extraKeys],
});

async function startProcess(): Promise<TestGateway> {
  const gateway = await startTestGateway(
    {
      masterKey,
      redis: redisUrl,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        tenant('acme', agentKey, [{ name: 'other', key: otherKey, toolsets: ['all'], subject: 'bob' }]),
        tenant('globex', globexKey),
      ],
    },
    { store: database.url },
  );
  started.push(gateway);
  return gateway;
}

const masterKey = randomBytes(32).toString('base64');

beforeAll(async () => {
  if (!enabled) return;
  upstream = await startLegacyMcpUpstream([
    {
      name: 'ask_name',
      description: 'Asks its client for a name, then a second time',
      annotations: { destructiveHint: false },
      call: async (_args, request) => {
        const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
        try {
          const first = (await request?.ask('elicitation/create', {
            message: 'Your name?',
            requestedSchema: schema,
          })) as {
            content?: { name?: string };
          };
          answers.push(String(first.content?.name));
          const second = (await request?.ask('elicitation/create', {
            message: 'And your friend?',
            requestedSchema: schema,
          })) as { content?: { name?: string } };
          answers.push(String(second.content?.name));
          return { content: [{ type: 'text', text: `hello ${first.content?.name} and ${second.content?.name}` }] };
        } catch (error) {
          return { content: [{ type: 'text', text: `failed: ${(error as Error).message}` }] };
        }
      },
    },
  ]);
  modern = await startModernMcpUpstream((server) => registerAskingTool(server, modernNames));
  database = await (postgres as NonNullable<typeof postgres>).create();
  a = await startProcess();
  b = await startProcess();
}, 120_000);

afterAll(async () => {
  for (const gateway of started) await gateway.close().catch(() => {});
  await database?.drop();
  await upstream?.close();
  await modern?.close();
});

type Sent = { url: string; key: string; body: Record<string, unknown> };

/**
 * An SDK 2.x client that declared form elicitation, answering with the next name of `names`. Its first request of a
 * call goes to `first`, every retry (a body with `requestState`) to `retry()`; `beforeRetry` sees each retry first.
 */
async function connectClient(options: {
  names: string[];
  first: () => string;
  retry: () => string;
  beforeRetry?: (sent: Sent) => Promise<void>;
}): Promise<{ client: ClientV2; sent: Sent[] }> {
  const sent: Sent[] = [];
  const client = new ClientV2(
    { name: 'relay-fleet', version: '1.0.0' },
    { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } },
  );
  client.setRequestHandler('elicitation/create', async () => ({
    action: 'accept',
    content: { name: options.names.shift() ?? 'nobody' },
  }));
  const fetchRouted = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : {};
    const params = body['params'] as Record<string, unknown> | undefined;
    const isRetry = params?.['requestState'] !== undefined;
    const target = new URL(String(url));
    const base = new URL(isRetry ? options.retry() : options.first());
    target.host = base.host;
    const entry = { url: target.href, key: agentKey, body };
    sent.push(entry);
    if (isRetry) await options.beforeRetry?.(entry);
    return fetch(target, init?.body === undefined ? init : { ...init, body: JSON.stringify(entry.body) });
  };
  await client.connect(
    new TransportV2(new URL(`${a.url}/mcp/acme/all`), {
      requestInit: { headers: { Authorization: `Bearer ${agentKey}` } },
      fetch: fetchRouted,
    }),
  );
  return { client, sent };
}

async function toolCallRecords(gateway: TestGateway): Promise<number> {
  for (const p of started) await p.adapters.audit?.flush();
  return (await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', limit: 10_000 })).length;
}

/** Sends a captured retry again, as `key` on `url`, with `body` changed by `change`. */
async function resend(sent: Sent, key: string, url: string, change: (body: Record<string, unknown>) => void) {
  const body = structuredClone(sent.body);
  change(body);
  const params = body['params'] as Record<string, unknown>;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': String(params['name']),
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

type Result = { isError?: boolean; content: Record<string, unknown>[]; structuredContent?: Record<string, unknown> };

describe.skipIf(!enabled)('elicitation relayed across two gateway processes (PostgreSQL + Redis)', () => {
  it('a retry that lands on process B reaches the call held by process A: both rounds, the result, one audit record', async () => {
    answers.length = 0;
    const before = await toolCallRecords(a);
    let retries = 0;
    // First request to A, the retries alternate: B, then A (each time the other process of the last one).
    const { client, sent } = await connectClient({
      names: ['Ada', 'Grace'],
      first: () => a.url,
      retry: () => (++retries % 2 === 1 ? b.url : a.url),
    });
    const result = (await client.callTool({ name: 'linear_ask_name', arguments: {} })) as Result;
    expect(result.content).toEqual([{ type: 'text', text: 'hello Ada and Grace' }]);
    expect(answers).toEqual(['Ada', 'Grace']);
    const calls = sent.filter((s) => s.body['method'] === 'tools/call');
    expect(calls.map((s) => new URL(s.url).host)).toEqual([a.url, b.url, a.url].map((u) => new URL(u).host));
    const state = (calls[1]?.body['params'] as Record<string, unknown> | undefined)?.['requestState'];
    expect(state).toMatch(/^mrt1\./);
    expect(await toolCallRecords(a)).toBe(before + 1);
    await client.close();
  });

  it('the same with a 2026-07-28 server, whose question comes as its input_required result', async () => {
    const { client, sent } = await connectClient({ names: ['Ada'], first: () => b.url, retry: () => a.url });
    const result = (await client.callTool({ name: 'modern_ask_name', arguments: {} })) as Result;
    expect(result.content).toEqual([{ type: 'text', text: 'hello Ada' }]);
    expect(modernNames).toEqual(['Ada']);
    const calls = sent.filter((s) => s.body['method'] === 'tools/call');
    expect(calls.map((s) => new URL(s.url).host)).toEqual([b.url, a.url].map((u) => new URL(u).host));
    await client.close();
  });

  it('refuses a stolen requestState retried with another key of the tenant or a key of another tenant', async () => {
    answers.length = 0;
    const thieves: { status: number; text: string }[] = [];
    const { client } = await connectClient({
      names: ['Ada', 'Grace'],
      first: () => a.url,
      retry: () => b.url,
      beforeRetry: async (sent) => {
        if (thieves.length > 0) return;
        const steal = (body: Record<string, unknown>) => {
          const params = body['params'] as Record<string, unknown>;
          params['inputResponses'] = { q1: { action: 'accept', content: { name: 'Mallory' } } };
        };
        thieves.push(await resend(sent, otherKey, `${b.url}/mcp/acme/all`, steal));
        thieves.push(await resend(sent, globexKey, `${b.url}/mcp/globex/all`, steal));
        thieves.push(await resend(sent, globexKey, `${a.url}/mcp/globex/all`, steal));
      },
    });
    const result = (await client.callTool({ name: 'linear_ask_name', arguments: {} })) as Result;
    expect(result.content).toEqual([{ type: 'text', text: 'hello Ada and Grace' }]);
    expect(answers).toEqual(['Ada', 'Grace']);
    expect(thieves).toHaveLength(3);
    for (const thief of thieves) {
      expect(thief.text).not.toContain('Your name?');
      expect(thief.text).not.toContain('And your friend?');
      expect(thief.text).not.toContain('hello');
      const answer = JSON.parse(thief.text.replace(/^[\s\S]*?data: /, '')) as { error?: { code: number } };
      expect(answer.error?.code).toBe(-32602);
    }
    await client.close();
  });

  it('answers a retryable store_unavailable when the process holding the call is gone', async () => {
    answers.length = 0;
    const holder = await startProcess();
    const { client } = await connectClient({
      names: ['Ada'],
      first: () => holder.url,
      retry: () => b.url,
      beforeRetry: async () => {
        await holder.close();
      },
    });
    const result = (await client.callTool({ name: 'linear_ask_name', arguments: {} })) as Result;
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({
      error: { code: 'store_unavailable', details: { reason: 'process_gone' } },
    });
    expect(result.content[0]?.['text']).toMatch(/call the tool again/);
    await client.close();
  });

  it('answers a retryable store_unavailable when the named process does not acknowledge', async () => {
    // A listener at an address that never answers (a frozen process): B waits for the acknowledgement, then says so.
    const silent = randomBytes(12).toString('base64url');
    const listener = new Redis(redisUrl as string);
    await listener.subscribe(`gh:bus:${listener.options.db ?? 0}:${silent}`);
    try {
      const { client } = await connectClient({
        names: ['Ada'],
        first: () => a.url,
        retry: () => b.url,
        // The retry names the silent address instead of A (a forged state: only the bus namespace is reachable).
        beforeRetry: async (sent) => {
          const params = sent.body['params'] as Record<string, unknown>;
          params['requestState'] = `mrt1.${silent}.${randomBytes(24).toString('base64url')}`;
        },
      });
      const started = performance.now();
      const result = (await client.callTool({ name: 'linear_ask_name', arguments: {} })) as Result;
      expect(result.structuredContent).toMatchObject({
        error: { code: 'store_unavailable', details: { reason: 'process_silent' } },
      });
      expect(performance.now() - started).toBeGreaterThan(4_000);
      await client.close();
    } finally {
      listener.disconnect();
    }
  }, 30_000);
});
