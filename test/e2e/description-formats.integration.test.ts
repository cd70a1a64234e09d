import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Services described by Google Discovery, GraphQL and WSDL go through the same gateway as OpenAPI ones: a real MCP
 * client lists and calls a read and a write tool of each, against fake upstreams on 127.0.0.1 speaking the protocol.
 */
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const clientKey = 'gatehouse_sk_formats_agent_key_0123456789abcdef';
const upstreamToken = 'upstream-bearer-formats-0123456789';

let api: FakeApi;
let gateway: TestGateway;

beforeAll(async () => {
  api = await startFakeApi();
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          {
            id: 'mail',
            discovery: fixture('mail.discovery.json'),
            baseUrl: `${api.url}/mail/v1/`,
            auth: { type: 'bearer', token: upstreamToken },
          },
        ],
        toolsets: [
          { id: 'all', tools: ['*'], access: 'write', approval: 'none' },
          { id: 'reader', tools: ['*'], access: 'read' },
          {
            id: 'readscope',
            tools: ['*'],
            access: 'write',
            approval: 'none',
            scopes: ['https://mail.example.com/auth/mail.readonly'],
          },
        ],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all', 'reader', 'readscope'], subject: 'alice' }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await api?.close();
});

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text: string }[] };

async function connect(toolset: string): Promise<Client> {
  const client = new Client({ name: 'formats-e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/acme/${toolset}`), {
      requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
    }),
  );
  return client;
}

/** The names of a service's tools in a listing (without the gateway's own result tools), sorted. */
async function serviceTools(client: Client, service: string): Promise<string[]> {
  const { tools } = await client.listTools();
  return tools
    .map((t) => t.name)
    .filter((name) => name.startsWith(`${service}_`))
    .sort();
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

function codeOf(result: ToolResult): string | undefined {
  expect(result.isError).toBe(true);
  return (result.structuredContent as { error?: { code?: string } } | undefined)?.error?.code;
}

async function auditedTools(): Promise<string[]> {
  await gateway.adapters.audit?.flush();
  const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', limit: 10_000 });
  return records.filter((r) => r.kind === 'tool_call').map((r) => String(r.tool));
}

describe('a Google Discovery service', () => {
  it('lists its methods as tools and calls a read and a write one with the upstream credential', async () => {
    const client = await connect('all');
    expect(await serviceTools(client, 'mail')).toEqual(['mail_users_messages_list', 'mail_users_messages_send']);

    api.handle((request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: request.method, path: request.path, query: request.url, body: request.body }));
    });
    const read = await call(client, 'mail_users_messages_list', { userId: 'me', labelIds: ['INBOX', 'UNREAD'] });
    expect(read.isError).toBeFalsy();
    const seen = api.received.at(-1)!;
    expect(seen.method).toBe('GET');
    expect(seen.path).toBe('/mail/v1/me/messages');
    expect(seen.query.getAll('labelIds')).toEqual(['INBOX', 'UNREAD']);
    expect(seen.headers['authorization']).toBe(`Bearer ${upstreamToken}`);

    const write = await call(client, 'mail_users_messages_send', { userId: 'me', body: { raw: 'SGk' } });
    expect(write.isError).toBeFalsy();
    const sent = api.received.at(-1)!;
    expect([sent.method, sent.path, JSON.parse(sent.body)]).toEqual([
      'POST',
      '/mail/v1/me/messages/send',
      { raw: 'SGk' },
    ]);
    expect(await auditedTools()).toEqual(
      expect.arrayContaining(['mail_users_messages_list', 'mail_users_messages_send']),
    );
    await client.close();
  });

  it('a read toolset exposes only the GET method; a toolset limited to the read scope denies send', async () => {
    const reader = await connect('reader');
    expect(await serviceTools(reader, 'mail')).toEqual(['mail_users_messages_list']);
    await reader.close();
    const scoped = await connect('readscope');
    const before = api.received.length;
    expect(codeOf(await call(scoped, 'mail_users_messages_send', { userId: 'me', body: { raw: 'x' } }))).toBe(
      'scope_missing',
    );
    expect(api.received.length).toBe(before);
    expect(codeOf(await call(scoped, 'mail_users_messages_list', { userId: 'me', maxResults: 'ten' }))).toBe(
      'invalid_arguments',
    );
    await scoped.close();
  });
});
