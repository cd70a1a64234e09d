import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort as closedPort } from '../support/free-port.ts';
import {
  type FixtureTool,
  type LegacyMcpUpstream,
  startLegacyMcpUpstream,
  startModernMcpUpstream,
} from '../support/start-mcp-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Remote MCP servers as services (issue 12): real MCP servers built with the SDK on 127.0.0.1 (a 2025-era one with
 * sessions and paged listings, a 2026-07-28 one), federated by the real gateway and driven by real MCP clients of
 * both eras through it.
 */
const clientKey = 'gatehouse_sk_federation_agent_key_0123456789ab';
const upstreamToken = 'upstream-mcp-bearer-0123456789abcdef';

const tools: FixtureTool[] = [
  {
    name: 'echo',
    description: 'Echoes text',
    // As zod-made schemas of SDK servers declare it: draft-07 (the gateway's validator is 2020-12).
    inputSchema: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { text: { type: 'string' } },
      required: ['text'],
    },
    call: (args) => ({ content: [{ type: 'text', text: `echo: ${String(args['text'])}` }] }),
  },
  {
    name: 'lookup.weather',
    description: 'Weather of a city',
    inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    outputSchema: { type: 'object', properties: { city: { type: 'string' }, celsius: { type: 'number' } } },
    annotations: { readOnlyHint: true, openWorldHint: false },
    call: (args) => ({
      content: [{ type: 'text', text: `{"city":"${String(args['city'])}","celsius":21}` }],
      structuredContent: { city: args['city'], celsius: 21 },
    }),
  },
  {
    name: 'media',
    description: 'Content of every type',
    call: () => ({
      content: [
        { type: 'text', text: 'a picture, a sound, a link and a file' },
        { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
        { type: 'audio', data: 'UklGRg==', mimeType: 'audio/wav', annotations: { audience: ['user'] } },
        { type: 'resource_link', uri: 'file:///report.pdf', name: 'report', mimeType: 'application/pdf' },
        { type: 'resource', resource: { uri: 'file:///notes.txt', mimeType: 'text/plain', text: 'notes' } },
      ],
      _meta: { 'example.com/trace': 'abc', 'io.modelcontextprotocol/related-task': { taskId: 'forged' } },
    }),
  },
  {
    name: 'leak',
    description: 'Answers with the token it was sent',
    call: () => ({ content: [{ type: 'text', text: `my token is ${upstreamToken}` }] }),
  },
  {
    name: 'fail',
    description: 'Fails as a tool',
    call: () => ({ content: [{ type: 'text', text: 'the tool failed on purpose' }], isError: true }),
  },
  {
    name: 'big',
    description: 'A large answer',
    annotations: { destructiveHint: false },
    call: () => ({ content: [{ type: 'text', text: 'x'.repeat(40_000) }] }),
  },
  {
    name: 'delete_item',
    description: 'Deletes an item',
    inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
    annotations: { destructiveHint: true },
    call: (args) => ({ content: [{ type: 'text', text: `deleted ${String(args['id'])}` }] }),
  },
];

let legacy: LegacyMcpUpstream;
let modern: { url: string; close(): Promise<void> };
let gateway: TestGateway;

beforeAll(async () => {
  legacy = await startLegacyMcpUpstream(tools, upstreamToken);
  modern = await startModernMcpUpstream();
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          { id: 'linear', mcp: legacy.url, auth: { type: 'bearer', token: upstreamToken } },
          { id: 'modern', mcp: modern.url },
          // The same server with a small answer cap: a large result is refused while it streams.
          { id: 'tiny', mcp: legacy.url, auth: { type: 'bearer', token: upstreamToken }, maxResponseBytes: 8_000 },
          // A server that is down: the gateway still starts and serves the others.
          {
            id: 'down',
            mcp: `http://127.0.0.1:${await closedPort()}/mcp`,
            connectTimeoutSeconds: 2,
            timeoutSeconds: 5,
          },
        ],
        toolsets: [
          { id: 'all', tools: ['*'], access: 'write', approval: 'none', discovery: { mode: 'never' } },
          {
            id: 'reader',
            tools: ['*'],
            access: 'read',
            policy: { safety: { linear_lookup_weather: 'safe' } },
            discovery: { mode: 'never' },
          },
          { id: 'bare', tools: ['*'], unprefixed: ['linear'], access: 'write', discovery: { mode: 'never' } },
        ],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all', 'reader', 'bare'], subject: 'alice' }],
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await legacy?.close();
  await modern?.close();
});

async function connectV2(toolset: string): Promise<ClientV2> {
  const client = new ClientV2({ name: 'federation-e2e', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(
    new TransportV2(new URL(`${gateway.url}/mcp/acme/${toolset}`), {
      requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
    }),
  );
  return client;
}

async function connectV1(toolset: string): Promise<ClientV1> {
  const client = new ClientV1({ name: 'federation-e2e-v1', version: '1.0.0' });
  await client.connect(
    new TransportV1(new URL(`${gateway.url}/mcp/acme/${toolset}`), {
      requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
    }),
  );
  return client;
}

type Result = {
  isError?: boolean;
  content: Record<string, unknown>[];
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
};

async function toolCallRecords(): Promise<number> {
  await gateway.adapters.audit?.flush();
  return (await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', limit: 10_000 })).length;
}

describe('remote MCP servers as services', () => {
  it('lists every page of a 2025-era server and a 2026-era server as prefixed tools, schemas and hints intact', async () => {
    const client = await connectV2('all');
    const listed = (await client.listTools()).tools.filter((t) => !t.name.startsWith('gatehouse_'));
    expect(
      listed
        .map((t) => t.name)
        .filter((name) => !name.startsWith('tiny_'))
        .sort(),
    ).toEqual(
      [
        'linear_big',
        'linear_delete_item',
        'linear_echo',
        'linear_fail',
        'linear_leak',
        'linear_lookup_weather',
        'linear_media',
        'modern_whoami',
      ].sort(),
    );
    const weather = listed.find((t) => t.name === 'linear_lookup_weather');
    expect(weather?.inputSchema).toEqual(tools[1]?.inputSchema);
    expect(weather?.outputSchema).toEqual(tools[1]?.outputSchema);
    expect(weather?.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
    await client.close();
  });

  it('calls a tool with the service credential (never the client key) and passes its content through', async () => {
    const client = await connectV2('all');
    const before = await toolCallRecords();
    const result = (await client.callTool({ name: 'linear_echo', arguments: { text: 'hello' } })) as Result;
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
    const sent = legacy.calls.at(-1);
    expect(sent).toEqual({ name: 'echo', args: { text: 'hello' }, authorization: `Bearer ${upstreamToken}` });
    // Exactly one audit record per call.
    expect(await toolCallRecords()).toBe(before + 1);
    await client.close();
  });

  it('passes structuredContent through to clients of both eras', async () => {
    for (const client of [await connectV2('all'), await connectV1('all')]) {
      const result = (await client.callTool({
        name: 'linear_lookup_weather',
        arguments: { city: 'Oslo' },
      })) as Result;
      expect(result.structuredContent).toEqual({ city: 'Oslo', celsius: 21 });
      expect(result.content).toEqual([{ type: 'text', text: '{"city":"Oslo","celsius":21}' }]);
      await client.close();
    }
  });

  it('passes every content type through unchanged, and _meta without the keys the gateway owns', async () => {
    const client = await connectV1('all');
    const result = (await client.callTool({ name: 'linear_media', arguments: {} })) as Result;
    const media = tools.find((tool) => tool.name === 'media') as FixtureTool;
    expect(result.content).toEqual((media.call({}) as { content: unknown[] }).content);
    expect(result._meta?.['example.com/trace']).toBe('abc');
    expect(result._meta?.['io.modelcontextprotocol/related-task']).toBeUndefined();
    await client.close();
  });

  it('scrubs the service credential from results and passes a tool error through as isError', async () => {
    const client = await connectV2('all');
    const leak = (await client.callTool({ name: 'linear_leak', arguments: {} })) as Result;
    expect(JSON.stringify(leak)).not.toContain(upstreamToken);
    const failed = (await client.callTool({ name: 'linear_fail', arguments: {} })) as Result;
    expect(failed.isError).toBe(true);
    expect(failed.content).toEqual([{ type: 'text', text: 'the tool failed on purpose' }]);
    await client.close();
  });

  it('validates arguments against the upstream input schema before calling it', async () => {
    const client = await connectV2('all');
    const calls = legacy.calls.length;
    const result = (await client.callTool({ name: 'linear_echo', arguments: { text: 42 } })) as Result;
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.structuredContent)).toContain('invalid_arguments');
    expect(legacy.calls.length).toBe(calls);
    await client.close();
  });

  it('never trusts readOnlyHint: a read toolset shows only the tool the operator classed safe', async () => {
    const client = await connectV2('reader');
    const listed = (await client.listTools()).tools.map((t) => t.name).filter((name) => !name.startsWith('gatehouse_'));
    // modern_whoami says readOnlyHint too, but nobody vouched for it.
    expect(listed).toEqual(['linear_lookup_weather']);
    const read = (await client.callTool({ name: 'linear_lookup_weather', arguments: { city: 'Rome' } })) as Result;
    expect(read.structuredContent).toEqual({ city: 'Rome', celsius: 21 });
    const denied = (await client.callTool({ name: 'linear_echo', arguments: { text: 'x' } })) as Result;
    expect(denied.isError).toBe(true);
    expect(JSON.stringify(denied.structuredContent)).toContain('access_mode_denied');
    await client.close();
  });

  it('exposes a service unprefixed when a toolset asks; tools not marked non-destructive need approval', async () => {
    const client = await connectV2('bare');
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed).toContain('echo');
    expect(listed).toContain('lookup_weather');
    expect(listed).toContain('modern_whoami');
    const weather = (await client.callTool({ name: 'lookup_weather', arguments: { city: 'Bergen' } })) as Result;
    expect(weather.structuredContent).toEqual({ city: 'Bergen', celsius: 21 });
    const calls = legacy.calls.length;
    // delete_item says it is destructive; echo says nothing, and the MCP default (destructive) applies.
    for (const [name, args] of [
      ['delete_item', { id: '7' }],
      ['echo', { text: 'bare' }],
    ] as const) {
      const pending = (await client.callTool({ name, arguments: args })) as Result;
      expect(pending.isError).toBe(true);
      expect(JSON.stringify(pending.structuredContent)).toContain('approval_required');
    }
    expect(legacy.calls.length).toBe(calls);
    await client.close();
  });

  it('calls a 2026-07-28 server (modern era negotiated upstream)', async () => {
    const client = await connectV1('all');
    const result = (await client.callTool({ name: 'modern_whoami', arguments: { greeting: 'hi' } })) as Result;
    expect(result.structuredContent).toEqual({ server: 'modern', greeting: 'hi' });
    // The remote server's own server info is a gateway-owned key: it does not reach the client.
    expect(JSON.stringify(result._meta ?? {})).not.toContain('fixture-modern');
    await client.close();
  });

  it('reuses one upstream session, and opens a new one when the server forgets it (404)', async () => {
    const client = await connectV2('all');
    const opened = legacy.sessionsOpened();
    await client.callTool({ name: 'linear_echo', arguments: { text: 'one' } });
    await client.callTool({ name: 'linear_echo', arguments: { text: 'two' } });
    expect(legacy.sessionsOpened()).toBe(opened);
    legacy.expireSessions();
    const after = (await client.callTool({ name: 'linear_echo', arguments: { text: 'three' } })) as Result;
    expect(after.content).toEqual([{ type: 'text', text: 'echo: three' }]);
    expect(legacy.sessionsOpened()).toBe(opened + 1);
    await client.close();
  });

  it('refuses an answer over the service maxResponseBytes with upstream_too_large', async () => {
    const client = await connectV2('all');
    const capped = (await client.callTool({ name: 'tiny_big', arguments: {} })) as Result;
    expect(capped.isError).toBe(true);
    expect(JSON.stringify(capped.structuredContent)).toContain('upstream_too_large');
    const whole = (await client.callTool({ name: 'linear_big', arguments: {} })) as Result;
    expect(whole.isError).toBeFalsy();
    await client.close();
  });

  it('keeps serving when a federated server is down: its tools are absent and its status degraded', async () => {
    const client = await connectV2('all');
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed.some((name) => name.startsWith('down_'))).toBe(false);
    const status = gateway.gateway.federation?.status() ?? [];
    expect(status.find((s) => s.service === 'down')?.state).toBe('degraded');
    expect(status.find((s) => s.service === 'linear')?.state).toBe('listed');
    await client.close();
  });

  it('lists again on notifications/tools/list_changed', async () => {
    legacy.tools.push({
      name: 'added_later',
      description: 'A tool the server added',
      call: () => ({ content: [{ type: 'text', text: 'new' }] }),
    });
    await legacy.notifyChanged();
    const client = await connectV2('all');
    let names: string[] = [];
    for (let i = 0; i < 100 && !names.includes('linear_added_later'); i++) {
      names = (await client.listTools()).tools.map((t) => t.name);
      if (!names.includes('linear_added_later')) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(names).toContain('linear_added_later');
    const result = (await client.callTool({ name: 'linear_added_later', arguments: {} })) as Result;
    expect(result.content).toEqual([{ type: 'text', text: 'new' }]);
    await client.close();
  });
});

describe('federation config errors', () => {
  it('refuses an unprefixed toolset whose names collide, naming both tools', async () => {
    const one = await startLegacyMcpUpstream([{ name: 'search', call: () => ({ content: [] }) }]);
    const two = await startLegacyMcpUpstream([{ name: 'search', call: () => ({ content: [] }) }]);
    try {
      await expect(
        startTestGateway({
          unsafeAllowPrivateUpstreams: ['127.0.0.1'],
          tenants: [
            {
              id: 'acme',
              services: [
                { id: 'one', mcp: one.url },
                { id: 'two', mcp: two.url },
              ],
              toolsets: [{ id: 'both', unprefixed: ['one', 'two'] }],
            },
          ],
        }),
      ).rejects.toThrow(/tool search of service two and tool search of service one would both be named search/);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
