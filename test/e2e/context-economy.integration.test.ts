import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const paged = fileURLToPath(new URL('../fixtures/paged-api.openapi.yaml', import.meta.url));
const items = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const aliceKey = 'gatehouse_sk_e2e_alice_context_0123456789ab';
const bobKey = 'gatehouse_sk_e2e_bob_context_0123456789abcd';

/** About 1 MB of compact JSON, sent as the upstream's exact bytes. */
const bigText = JSON.stringify({
  total_count: 5_000,
  items: Array.from({ length: 5_000 }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    note: `Note ${i} — “quoted” 🚀 text for the model`,
    owner: { login: `user${i % 50}`, id: i % 50 },
    tags: ['a', 'b', `c${i % 9}`],
  })),
});

let api: FakeApi;
let gateway: TestGateway;

beforeAll(async () => {
  api = await startFakeApi();
  api.handle((request, res) => {
    const json = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
    };
    if (request.path === '/api/big') return json(200, bigText);
    if (request.path === '/api/small') return json(200, '{"ok":true}');
    if (request.path === '/api/linked') {
      const page = Number(request.query.get('page') ?? '1');
      const prev = `<${api.url}/api/linked?page=${page - 1}&per_page=2>; rel="prev"`;
      const link = { link: page < 3 ? `<${api.url}/api/linked?page=${page + 1}&per_page=2>; rel="next"` : prev };
      return json(200, JSON.stringify([{ id: page * 2 - 1 }, { id: page * 2 }]), link);
    }
    if (request.path === '/api/cursored') {
      const cursor = request.query.get('cursor');
      if (cursor === null) return json(200, JSON.stringify({ data: [1, 2], next_cursor: 'c2' }));
      if (cursor === 'c2') return json(200, JSON.stringify({ data: [3, 4], next_cursor: 'c3' }));
      return json(200, JSON.stringify({ data: [5], next_cursor: null }));
    }
    res.writeHead(404).end();
  });
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          { id: 'paged', openapi: paged, baseUrl: `${api.url}/api` },
          { id: 'items', openapi: items, baseUrl: `${api.url}/api` },
        ],
        toolsets: [
          { id: 'data', tools: ['paged_*'], results: { toolBudgets: { paged_getSmall: 500 } } },
          { id: 'whole', tools: ['paged_*'], results: { handles: { enabled: false } } },
          { id: 'pages', tools: ['paged_*'], results: { autoPaginate: { maxPages: 5 } } },
          {
            id: 'found',
            tools: ['*'],
            access: 'write',
            approval: 'none',
            discovery: { mode: 'always', pinned: ['paged_getSmall'] },
          },
          {
            id: 'classed',
            tools: ['items_*'],
            access: 'write',
            approval: 'none',
            discovery: { mode: 'always' },
            policy: { safety: { items_addNote: 'safe', items_getItem: 'destructive' } },
          },
        ],
        clientKeys: [
          {
            name: 'alice-agent',
            key: aliceKey,
            toolsets: ['data', 'whole', 'pages', 'found', 'classed'],
            subject: 'alice',
          },
          { name: 'bob-agent', key: bobKey, toolsets: ['data'], subject: 'bob' },
        ],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await api?.close();
});

type Result = {
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

async function connect(toolset: string, key = aliceKey) {
  const client = new Client({ name: 'context-e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/acme/${toolset}`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    }),
  );
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as Result;
  return { client, call };
}

describe('context economy through the gateway', () => {
  it('a 1 MB upstream answer becomes a summary and handle; paging the text rebuilds it byte for byte', async () => {
    const { client, call } = await connect('data');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['paged_getBig', 'gatehouse_result_query', 'gatehouse_result_page']));
    const summary = await call('paged_getBig');
    expect(summary.isError).toBeFalsy();
    const handle = summary.structuredContent?.['handle'] as string;
    expect(handle).toMatch(/^rh_/);
    expect(summary.content[0]!.text.length).toBeLessThan(10_000);
    let rebuilt = '';
    let offset: number | null = 0;
    for (let i = 0; offset !== null && i < 300; i++) {
      const page = await call('gatehouse_result_page', { handle, offset });
      const content = page.structuredContent as { text: string; nextOffset: number | null };
      rebuilt += content.text;
      offset = content.nextOffset;
    }
    expect(Buffer.from(rebuilt).equals(Buffer.from(bigText))).toBe(true);
    const query = await call('gatehouse_result_query', { handle, expression: 'items[?id==`7`].owner.login' });
    expect(query.structuredContent).toEqual({ result: ['user7'] });
    await client.close();
  });

  it('MC-05 a handle of one subject is invisible to another (not_found)', async () => {
    const alice = await connect('data');
    const handle = (await alice.call('paged_getBig')).structuredContent?.['handle'] as string;
    const bob = await connect('data', bobKey);
    const denied = await bob.call('gatehouse_result_page', { handle, offset: 0 });
    expect(denied.isError).toBe(true);
    expect(denied.structuredContent?.['error']).toMatchObject({ code: 'not_found' });
    await alice.client.close();
    await bob.client.close();
  });

  it('applies per-tool budgets and can deliver results whole when handles are off', async () => {
    const data = await connect('data');
    expect((await data.call('paged_getSmall')).structuredContent).toEqual({ ok: true });
    const whole = await connect('whole');
    const tools = (await whole.client.listTools()).tools.map((t) => t.name);
    expect(tools).not.toContain('gatehouse_result_page');
    const big = await whole.call('paged_getBig');
    expect(big.content[0]!.text).toBe(bigText);
    await data.client.close();
    await whole.client.close();
  });

  it('exposes _nextPage from a Link header and from a cursor field; autoPaginate follows them', async () => {
    const { client, call } = await connect('data');
    const linked = await call('paged_listLinked', {});
    expect(linked.structuredContent?.['_nextPage']).toEqual({ page: 2, per_page: 2 });
    const next = await call('paged_listLinked', { page: 2, per_page: 2 });
    expect(next.structuredContent?.['_nextPage']).toEqual({ page: 3 });
    const cursored = await call('paged_listCursored', {});
    expect(cursored.structuredContent?.['_nextPage']).toEqual({ cursor: 'c2' });
    expect(JSON.parse(cursored.content[0]!.text)).toEqual(cursored.structuredContent);
    await client.close();

    const pages = await connect('pages');
    const all = await pages.call('paged_listCursored', {});
    expect(all.structuredContent).toMatchObject({ data: [1, 2, 3, 4, 5] });
    expect(all.structuredContent?.['_nextPage']).toBeUndefined();
    const linkedAll = await pages.call('paged_listLinked', {});
    expect(linkedAll.structuredContent).toEqual({
      result: [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }, { id: 6 }],
    });
    await pages.client.close();
  });

  it('discovery: tools/list has the meta-tools and pinned tools; search, describe and call_tool work', async () => {
    const { client, call } = await connect('found');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual([
      'gatehouse_search_tools',
      'gatehouse_describe_tools',
      'gatehouse_call_tool',
      'paged_getSmall',
      'gatehouse_result_query',
      'gatehouse_result_page',
    ]);
    const found = await call('gatehouse_search_tools', { query: 'delete an item', access: 'write' });
    const hits = ((found.structuredContent?.['tools'] ?? []) as { name: string }[]).map((t) => t.name);
    expect(hits[0]).toBe('items_deleteItem');
    // A hit a model can act on: purpose, access, required arguments and why it matched.
    const [first] = (found.structuredContent?.['tools'] ?? []) as Record<string, unknown>[];
    expect(first).toMatchObject({ name: 'items_deleteItem', access: 'destructive', required: ['itemId'] });
    expect(first?.['why']).toEqual(expect.stringContaining('item'));
    // search_purpose_is_returns_line: the summary, not the "Returns: Deleted" line of its answer.
    expect(first?.['purpose']).toBe('Delete an item');
    // A word the description does not use reaches one close in meaning (word vectors), and says so.
    const close = await call('gatehouse_search_tools', { query: 'scribble a comment on item 3' });
    const note = ((close.structuredContent?.['tools'] ?? []) as Record<string, unknown>[])
      .slice(0, 5)
      .find(({ name }) => name === 'items_addNote');
    expect(note?.['why']).toMatch(/comment -> note \([a-z, ]+; close in meaning, 0\.\d\d\)/);
    // Bad input names the argument; other languages and typos get the best matches, never an error.
    for (const query of ['', '   ', 'x'.repeat(5_000), 'abc\u0000\u0001def', 42]) {
      const bad = await call('gatehouse_search_tools', { query });
      expect(bad.structuredContent?.['error']).toMatchObject({ code: 'invalid_arguments' });
      expect(JSON.stringify(bad.structuredContent)).toContain('query');
    }
    for (const query of ['supprimer un élément', 'delet an itme', '项目を削除']) {
      const fine = await call('gatehouse_search_tools', { query });
      expect(fine.isError ?? false).toBe(false);
      expect(fine.structuredContent?.['tools']).toEqual(expect.any(Array));
    }
    const typo = await call('gatehouse_search_tools', { query: 'delet an itme' });
    expect(((typo.structuredContent?.['tools'] ?? []) as { name: string }[])[0]?.name).toBe('items_deleteItem');
    const described = await call('gatehouse_describe_tools', { names: ['items_getItem'] });
    expect(described.structuredContent).toMatchObject({
      tools: [{ name: 'items_getItem', inputSchema: { type: 'object' } }],
    });
    const viaMeta = await call('gatehouse_call_tool', { name: 'paged_getSmall', arguments: {} });
    expect(viaMeta.structuredContent).toEqual({ ok: true });
    const invalid = await call('gatehouse_call_tool', { name: 'items_getItem', arguments: {} });
    expect(invalid.structuredContent?.['error']).toMatchObject({ code: 'invalid_arguments' });
    await client.close();
  });

  it('search_access_ignores_policy_safety: the access of a hit, and the access filter, follow the toolset policy.safety', async () => {
    const { call } = await connect('classed');
    const hitsOf = async (args: Record<string, unknown>) =>
      ((await call('gatehouse_search_tools', args)).structuredContent?.['tools'] ?? []) as Record<string, unknown>[];
    // items_getItem is a GET the toolset classes destructive: a model must not be told it only reads.
    const get = (await hitsOf({ query: 'get an item' })).find(({ name }) => name === 'items_getItem');
    expect(get).toMatchObject({ access: 'destructive' });
    // items_addNote is a POST the operator vouches for as a read: it is a read here, and found by access: read.
    const note = (await hitsOf({ query: 'add a note to an item' })).find(({ name }) => name === 'items_addNote');
    expect(note).toMatchObject({ access: 'read' });
    const reads = (await hitsOf({ query: 'add a note to an item', access: 'read' })).map(({ name }) => name);
    expect(reads).toContain('items_addNote');
    expect(reads).not.toContain('items_getItem');
  });
});
