import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { onJsonBody } from '../support/start-scripted-mcp-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * A hostile remote MCP server (raw node:http, a 2025-06-18 session) trying to get past the bounds of a federated
 * listing: its pages' time, count and bytes. Driven through the real gateway.
 */
const upstreamToken = 'breaker-upstream-bearer-0123456789abcdefghijklmnopqrstuv';

/** Answers a listing request (`tools/list`, `resources/list`, ...) given its page (the cursor as a number). */
type PageAnswer = (response: ServerResponse, id: unknown, page: number, method: string) => void;

async function startBreakerServer(options: { capabilities?: Record<string, unknown>; list: PageAnswer }) {
  const served = { pages: 0 };
  const server = createServer((request, response) => {
    onJsonBody(request, (body) => {
      const method = String(body?.['method']);
      const id = body?.['id'];
      const json = (message: unknown, headers: Record<string, string> = {}) =>
        response.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(message));
      if (request.method === 'GET') return void response.writeHead(405).end();
      if (request.method === 'DELETE') return void response.writeHead(200).end();
      if (method === 'server/discover') {
        return json({ jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } });
      }
      if (method === 'initialize') {
        return json(
          {
            jsonrpc: '2.0',
            id,
            result: {
              protocolVersion: '2025-06-18',
              capabilities: options.capabilities ?? { tools: {} },
              serverInfo: { name: 'breaker', version: '1.0.0' },
            },
          },
          { 'mcp-session-id': 'breaker-session' },
        );
      }
      if (method.endsWith('/list')) {
        const cursor = (body?.['params'] as { cursor?: string } | undefined)?.cursor;
        served.pages++;
        return options.list(response, id, cursor === undefined ? 0 : Number(cursor), method);
      }
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    served,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Breaker = Awaited<ReturnType<typeof startBreakerServer>>;
let upstream: Breaker | undefined;
let gateway: TestGateway | undefined;

afterEach(async () => {
  await gateway?.close();
  await upstream?.close();
  gateway = undefined;
  upstream = undefined;
});

async function federate(server: Parameters<typeof startBreakerServer>[0], service: Record<string, unknown> = {}) {
  upstream = await startBreakerServer(server);
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [{ id: 'remote', mcp: upstream.url, auth: { type: 'bearer', token: upstreamToken }, ...service }],
        toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none', discovery: { mode: 'never' } }],
      },
    ],
  });
  return { upstream, gateway };
}

const itemsOf = (method: string, page: number) => {
  if (method === 'tools/list') return { tools: [{ name: `tool_${page}`, inputSchema: { type: 'object' } }] };
  if (method === 'resources/list') return { resources: [{ uri: `mem://r/${page}`, name: `r${page}` }] };
  if (method === 'resources/templates/list') {
    return { resourceTemplates: [{ uriTemplate: `mem://t/${page}/{x}`, name: `t${page}` }] };
  }
  return { prompts: [{ name: `prompt_${page}` }] };
};

describe('a remote MCP server answering each listing page just within the timeout', () => {
  it('listing_pages_outlast_timeout: a listing of many slow pages ends within the service timeoutSeconds', async () => {
    const pageDelayMs = 400;
    const pages = 10;
    const began = Date.now();
    const { gateway, upstream } = await federate(
      {
        list: (response, id, page, method) => {
          setTimeout(() => {
            if (response.destroyed) return;
            response.writeHead(200, { 'content-type': 'application/json' }).end(
              JSON.stringify({
                jsonrpc: '2.0',
                id,
                result: { ...itemsOf(method, page), ...(page + 1 < pages ? { nextCursor: String(page + 1) } : {}) },
              }),
            );
          }, pageDelayMs);
        },
      },
      { timeoutSeconds: 1 },
    );
    const took = Date.now() - began;
    const [status] = gateway.gateway.federation?.status() ?? [];
    // Ten pages of 0.4 s each: 4 s of listing for a service whose timeoutSeconds is 1.
    expect(status?.state).toBe('degraded');
    expect(status?.problem).toMatch(/did not list its tools in time/);
    expect(took).toBeLessThan(3_000);
    expect(upstream.served.pages).toBeLessThan(pages);
  });

  it('listing_pages_outlast_timeout: a prompt listing of many slow pages ends within timeoutSeconds too', async () => {
    const pages = 10;
    const began = Date.now();
    const { gateway } = await federate(
      {
        capabilities: { tools: {}, prompts: {} },
        list: (response, id, page, method) => {
          const answer = () =>
            response.writeHead(200, { 'content-type': 'application/json' }).end(
              JSON.stringify({
                jsonrpc: '2.0',
                id,
                result: { ...itemsOf(method, page), ...(page + 1 < pages ? { nextCursor: String(page + 1) } : {}) },
              }),
            );
          if (method === 'tools/list') return void answer();
          setTimeout(() => response.destroyed || answer(), 400);
        },
      },
      { timeoutSeconds: 1 },
    );
    expect(Date.now() - began).toBeLessThan(3_000);
    const [status] = gateway.gateway.federation?.status() ?? [];
    expect(status?.tools).toBe(pages);
    expect(status?.problem).toMatch(/did not list its prompts in time/);
  });
});
