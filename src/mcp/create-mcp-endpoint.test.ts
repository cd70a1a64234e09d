import { Client, ProtocolError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as Client1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as StreamableHTTPClientTransport1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpApp, type RunningHttpServer, startHttpServer } from '../http/index.ts';
import { createFakeGateway, type FakeGateway } from './_fake-gateway.ts';
import { mcpPathCounts } from './create-mcp-endpoint.ts';

let gateway: FakeGateway;
let server: RunningHttpServer;
let endpoint: URL;

beforeAll(async () => {
  gateway = createFakeGateway();
  const app = createHttpApp({ gateway, publicUrl: 'http://127.0.0.1:8787', limits: { mcpBodyBytes: 4096 } });
  server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  endpoint = new URL(`${server.url}/mcp/t/s`);
});
afterAll(() => server.close());
beforeEach(() => {
  gateway.calls.length = 0;
  gateway.authorizations.length = 0;
});

const auth = { authorization: 'Bearer key-t' };
const jsonHeaders = { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const toolCall = (name: string, id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: { message: 'hi' } },
});

function post(body: unknown, headers: Record<string, string> = jsonHeaders, url: URL = endpoint) {
  return fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** The JSON-RPC messages of an SSE body. */
function readEvents(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line.length > 6)
    .map((line) => JSON.parse(line.slice(6)));
}

/** A fetch that records status and content type, optionally narrowing Accept to SSE only (to get streamed answers). */
function createRecordingFetch(sseOnly: boolean) {
  const seen: string[] = [];
  const recordingFetch = async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    if (sseOnly && headers.has('accept')) headers.set('accept', 'text/event-stream');
    const response = await fetch(input, { ...init, headers });
    seen.push(`${init?.method} ${response.status} ${response.headers.get('content-type') ?? '-'}`);
    return response;
  };
  return { seen, fetch: recordingFetch };
}

describe('MCP endpoint with the 2.x client', () => {
  it.each([
    ['2025-era (legacy)', {}],
    ['2026-07-28 (modern)', { versionNegotiation: { mode: { pin: '2026-07-28' } } }],
  ] as const)(
    '%s: lists tools, calls, gets tool errors and a protocol error for an unknown tool',
    async (_era, options) => {
      const client = new Client({ name: 'test', version: '1.0.0' }, options);
      await client.connect(new StreamableHTTPClientTransport(endpoint, { requestInit: { headers: auth } }));
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['echo', 'fail', 'plain']);
      expect(tools[0]?.annotations).toEqual({
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      });
      expect(tools[0]?.outputSchema).toMatchObject({ required: ['echo'] });

      const echoed = await client.callTool({ name: 'echo', arguments: { message: 'x' } });
      expect(echoed.structuredContent).toEqual({ echo: { message: 'x' } });
      expect(echoed.content).toEqual([{ type: 'text', text: '{"message":"x"}' }]);
      expect(echoed.isError).toBeFalsy();

      const failed = await client.callTool({ name: 'fail', arguments: {} });
      expect(failed.isError).toBe(true);
      expect(failed.structuredContent).toEqual({
        error: {
          code: 'upstream_timeout',
          message: 'Upstream did not answer within 10000 ms',
          details: { timeoutMs: 10000 },
        },
      });
      expect(failed.content).toEqual([{ type: 'text', text: 'Upstream did not answer within 10000 ms' }]);

      const unknown = await client.callTool({ name: 'nope', arguments: {} }).catch((error: unknown) => error);
      expect(unknown).toBeInstanceOf(ProtocolError);
      expect((unknown as ProtocolError).code).toBe(-32602);
      expect(gateway.calls.map((c) => c.name)).toEqual(['echo', 'fail', 'nope']);
      expect(gateway.calls[0]?.caller.tenant).toBe('t');
      await client.close();
    },
  );
});

describe('MCP endpoint with the 1.x client', () => {
  it.each([
    ['JSON', false, 'application/json'],
    ['SSE', true, 'text/event-stream'],
  ] as const)('connects, lists and calls with %s responses', async (_mode, sseOnly, contentType) => {
    const recording = createRecordingFetch(sseOnly);
    const client = new Client1({ name: 'test-1x', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport1(endpoint, { requestInit: { headers: auth }, fetch: recording.fetch }),
    );
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'fail')?.annotations?.destructiveHint).toBe(true);
    const echoed = await client.callTool({ name: 'echo', arguments: { message: 'y' } });
    expect(echoed.structuredContent).toEqual({ echo: { message: 'y' } });
    const failed = await client.callTool({ name: 'fail', arguments: {} });
    expect(failed.isError).toBe(true);
    await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    await client.close();
    const answered = recording.seen.filter((line) => line.startsWith('POST 200'));
    expect(answered.length).toBeGreaterThanOrEqual(5);
    for (const line of answered) expect(line).toBe(`POST 200 ${contentType}`);
  });
});

describe('MCP endpoint: fast path and SDK path', () => {
  it('a raw request accepting only text/event-stream gets an SSE answer', async () => {
    const response = await post(toolCall('echo'), { ...jsonHeaders, accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(readEvents(await response.text())).toEqual([
      {
        jsonrpc: '2.0',
        id: 1,
        result: {
          content: [{ type: 'text', text: '{"message":"hi"}' }],
          structuredContent: { echo: { message: 'hi' } },
        },
      },
    ]);
  });

  it.each(['echo', 'fail', 'plain', 'nope'])('answers tools/call %s with the same JSON on both paths', async (name) => {
    const before = { ...mcpPathCounts };
    const fast = await post(toolCall(name, 'same-id'));
    expect(fast.headers.get('content-type')).toBe('application/json');
    const fastJson = await fast.json();
    expect(mcpPathCounts.fast).toBe(before.fast + 1);

    // A one-element batch (allowed without a protocol header) and an SSE-only Accept both go to the SDK.
    const batched = await (await post([toolCall(name, 'same-id')])).json();
    const streamed = readEvents(
      await (await post(toolCall(name, 'same-id'), { ...jsonHeaders, accept: 'text/event-stream' })).text(),
    );
    expect(mcpPathCounts.fast).toBe(before.fast + 1);
    expect(mcpPathCounts.sdk).toBe(before.sdk + 2);
    expect(Array.isArray(batched) ? batched[0] : batched).toEqual(fastJson);
    expect(streamed).toEqual([fastJson]);
    expect(fast.status).toBe(200);
  });

  it('passes the request id of the HTTP exchange to callTool', async () => {
    const response = await post(toolCall('echo'));
    expect(gateway.calls[0]?.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('answers malformed JSON with a parse error', async () => {
    const response = await post('{"jsonrpc": "2.0", "id": 1,');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('answers a non-JSON-RPC body with an invalid request error', async () => {
    const response = await post({ hello: 'world' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32600);
  });

  it('refuses a batch under 2025-06-18 and later, serves it under 2025-03-26', async () => {
    const batch = [toolCall('echo', 1), toolCall('plain', 2)];
    const refused = await post(batch, { ...jsonHeaders, 'mcp-protocol-version': '2025-11-25' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: number } }).error.code).toBe(-32600);
    const served = await post(batch, { ...jsonHeaders, 'mcp-protocol-version': '2025-03-26' });
    expect(served.status).toBe(200);
    const answers = (await served.json()) as { id: number }[];
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2]);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const response = await post(toolCall('echo'), { ...jsonHeaders, 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(gateway.calls).toEqual([]);
  });

  it('answers GET and DELETE with 405 (stateless: no standalone stream, no session)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(endpoint, { method, headers: { ...auth, accept: 'text/event-stream' } });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    }
  });

  it('refuses a body over the limit with 413 payload_too_large', async () => {
    const response = await post(toolCall('x'.repeat(5000)));
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { data: unknown } }).error.data).toEqual({ code: 'payload_too_large' });
    expect(gateway.calls).toEqual([]);
  });
});

describe('MCP endpoint: inbound authentication', () => {
  it.each([
    ['missing', {}, /^Bearer realm="gatehouse"$/],
    [
      'unknown',
      { authorization: 'Bearer not-a-key' },
      /^Bearer realm="gatehouse", error="invalid_token", error_description="[^"]+"$/,
    ],
    [
      'not a bearer',
      { authorization: 'Basic a2V5LXQ6' },
      /^Bearer realm="gatehouse", error="invalid_request", error_description="[^"]+"$/,
    ],
  ])(
    'MC-01 a %s key is refused with 401, an RFC 6750 challenge and no tool call',
    async (_case, authorization, challenge) => {
      const { authorization: _, ...withoutKey } = jsonHeaders;
      const response = await post(toolCall('echo'), { ...withoutKey, ...authorization });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(challenge);
      const body = (await response.json()) as { error: { message: string; data: { code: string; reason: string } } };
      expect(body).toMatchObject({ jsonrpc: '2.0', error: { data: { code: 'unauthenticated' } } });
      // The body says why too, for a client (or curl -s) that never shows the WWW-Authenticate header.
      expect(body.error.data.reason).toBe(
        _case === 'missing' ? 'no_credentials' : _case === 'unknown' ? 'invalid_token' : 'invalid_request',
      );
      expect(gateway.calls).toEqual([]);
    },
  );

  it('MC-05 another tenant’s key gets the same 404 as a nonexistent endpoint', async () => {
    const otherTenant = await post(toolCall('echo'), { ...jsonHeaders, authorization: 'Bearer key-u' });
    const missing = await post(toolCall('echo'), jsonHeaders, new URL(`${server.url}/mcp/t/nowhere`));
    expect(otherTenant.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await otherTenant.text()).toBe(await missing.text());
    expect(gateway.calls).toEqual([]);
  });

  it('MC-02 hands the Authorization header to authenticate() only, once per request', async () => {
    await post(toolCall('echo'));
    await post(toolCall('echo'), { ...jsonHeaders, accept: 'text/event-stream' });
    expect(gateway.authorizations).toEqual(['Bearer key-t', 'Bearer key-t']);
    expect(JSON.stringify(gateway.calls)).not.toContain('key-t');
  });
});
