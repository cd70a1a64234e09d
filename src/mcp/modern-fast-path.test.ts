import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from '../http/index.ts';
import { createFakeGateway, type FakeGateway } from './_fake-gateway.ts';
import { createMcpEndpoint, mcpPathCounts } from './create-mcp-endpoint.ts';

/**
 * The 2026-07-28 fast path against the SDK, byte for byte: the same fake gateway behind two endpoints, one with
 * the fast path and one where the SDK answers everything. Every request below must get the same status, content
 * type and body from both; the ones the fast path takes are counted, so a rule that silently sends everything to
 * the SDK fails here too.
 */

let gateway: FakeGateway;
const servers: Server[] = [];
let fastUrl: string;
let sdkUrl: string;

async function serve(fastPath: boolean): Promise<string> {
  const endpoint = createMcpEndpoint({ gateway, fastPath });
  const server = createServer((req, res) => {
    const [, , tenant = '', toolset = ''] = (req.url ?? '').split('/');
    void endpoint.handle({
      req,
      res,
      tenant,
      toolset,
      requestId: 'req-1',
      readBody: () => readBody(req, 64 * 1024),
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp/t/s`;
}

beforeAll(async () => {
  gateway = createFakeGateway();
  fastUrl = await serve(true);
  sdkUrl = await serve(false);
});
afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
});

const envelope = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'test', version: '1.0.0' },
};

function modernCall(name: string, meta: Record<string, unknown> = envelope, id: string | number = 7) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: { message: 'hi' }, _meta: meta } };
}

function headersFor(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    authorization: 'Bearer key-t',
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': name,
    ...extra,
  };
}

async function both(body: unknown, headers: Record<string, string>) {
  const send = async (url: string) => {
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
  };
  const before = mcpPathCounts.fast;
  const fast = await send(fastUrl);
  const tookFastPath = mcpPathCounts.fast > before;
  const sdk = await send(sdkUrl);
  return { fast, sdk, tookFastPath };
}

describe('2026-07-28 tools/call: fast path and SDK answer the same bytes', () => {
  it.each(['echo', 'fail', 'plain', 'nope'])('a plain call of %s is taken by the fast path', async (name) => {
    const { fast, sdk, tookFastPath } = await both(modernCall(name), headersFor(name));
    expect(tookFastPath).toBe(true);
    expect(fast).toEqual(sdk);
  });

  it.each([
    ['no client info', { ...envelope, 'io.modelcontextprotocol/clientInfo': undefined }],
    [
      'client info with a title',
      { ...envelope, 'io.modelcontextprotocol/clientInfo': { name: 'a', version: '1', title: 'A' } },
    ],
    [
      'declared capabilities',
      {
        ...envelope,
        'io.modelcontextprotocol/clientCapabilities': {
          roots: { listChanged: true },
          experimental: { 'example.com/x': {} },
        },
      },
    ],
  ])('%s: fast path, same bytes', async (_case, meta) => {
    const { fast, sdk, tookFastPath } = await both(
      modernCall('echo', JSON.parse(JSON.stringify(meta))),
      headersFor('echo'),
    );
    expect(tookFastPath).toBe(true);
    expect(fast).toEqual(sdk);
  });

  it('a string id: fast path, same bytes', async () => {
    const { fast, sdk, tookFastPath } = await both(modernCall('echo', envelope, 'abc'), headersFor('echo'));
    expect(tookFastPath).toBe(true);
    expect(fast).toEqual(sdk);
  });

  it.each([
    ['a Mcp-Name that does not match', modernCall('echo'), headersFor('plain')],
    ['no Mcp-Method', modernCall('echo'), { ...headersFor('echo'), 'mcp-method': '' }],
    [
      'a header version that does not match',
      modernCall('echo'),
      headersFor('echo', { 'mcp-protocol-version': '2025-11-25' }),
    ],
    [
      'no client capabilities',
      modernCall('echo', { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }),
      headersFor('echo'),
    ],
    ['a progress token', modernCall('echo', { ...envelope, progressToken: 1 }), headersFor('echo')],
    [
      'malformed client info',
      modernCall('echo', { ...envelope, 'io.modelcontextprotocol/clientInfo': { name: 1 } }),
      headersFor('echo'),
    ],
    [
      'elicitation or sampling declared (a federated server may ask the client)',
      modernCall('echo', {
        ...envelope,
        'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {}, form: {} }, sampling: {} },
      }),
      headersFor('echo'),
    ],
    [
      'a malformed capability',
      modernCall('echo', { ...envelope, 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: true } } }),
      headersFor('echo'),
    ],
    [
      'an unknown version claim',
      modernCall('echo', { ...envelope, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }),
      headersFor('echo', { 'mcp-protocol-version': '2099-01-01' }),
    ],
  ])('%s: left to the SDK', async (_case, body, headers) => {
    const { fast, sdk, tookFastPath } = await both(body, headers);
    expect(tookFastPath).toBe(false);
    expect(fast).toEqual(sdk);
  });
});
