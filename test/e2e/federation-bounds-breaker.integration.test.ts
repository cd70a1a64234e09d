import { createServer, type ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClientV2 } from '../support/connect-mcp-clients.ts';
import { listenOnLoopback, onJsonBody } from '../support/start-scripted-mcp-server.ts';
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
  return { ...(await listenOnLoopback(server)), served };
}

const clientKey = 'gatehouse_sk_breaker_agent_key_0123456789abcdef';

let upstream: { close(): Promise<void> } | undefined;
let gateway: TestGateway | undefined;

afterEach(async () => {
  await gateway?.close();
  await upstream?.close();
  gateway = undefined;
  upstream = undefined;
});

async function federate(server: Parameters<typeof startBreakerServer>[0], service: Record<string, unknown> = {}) {
  const breaker = await startBreakerServer(server);
  upstream = breaker;
  gateway = await gatewayFor(breaker.url, service);
  return { upstream: breaker, gateway };
}

/** A gateway federating the one server at `url` as service `remote` of tenant `acme`, toolset `all`. */
function gatewayFor(url: string, service: Record<string, unknown>): Promise<TestGateway> {
  return startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [{ id: 'remote', mcp: url, auth: { type: 'bearer', token: upstreamToken }, ...service }],
        toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none', discovery: { mode: 'never' } }],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
      },
    ],
  });
}

const itemsOf = (method: string, page: number) => {
  if (method === 'tools/list') return { tools: [{ name: `tool_${page}`, inputSchema: { type: 'object' } }] };
  if (method === 'resources/list') return { resources: [{ uri: `mem://r/${page}`, name: `r${page}` }] };
  if (method === 'resources/templates/list') {
    return { resourceTemplates: [{ uriTemplate: `mem://t/${page}/{x}`, name: `t${page}` }] };
  }
  return { prompts: [{ name: `prompt_${page}` }] };
};

/** Answers a listing request with page `page` of `method`'s items, naming the next page while there are `pages`. */
const answerPage = (response: ServerResponse, id: unknown, method: string, page: number, pages = 1) =>
  response.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      jsonrpc: '2.0',
      id,
      result: { ...itemsOf(method, page), ...(page + 1 < pages ? { nextCursor: String(page + 1) } : {}) },
    }),
  );

describe('a remote MCP server answering each listing page just within the timeout', () => {
  it('listing_pages_outlast_timeout: a listing of many slow pages ends within the service timeoutSeconds', async () => {
    const pageDelayMs = 400;
    const pages = 10;
    const began = Date.now();
    const { gateway, upstream } = await federate(
      {
        list: (response, id, page, method) => {
          setTimeout(() => response.destroyed || answerPage(response, id, method, page, pages), pageDelayMs);
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
          const answer = () => answerPage(response, id, method, page, pages);
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

  it('listing_kinds_outlast_timeout: resources, templates and prompts are listed together, within one timeoutSeconds', async () => {
    // Each kind just within the timeout: one after another they took three times the service's timeoutSeconds.
    const delayMs = 1_200;
    let inFlight = 0;
    let mostInFlight = 0;
    const began = Date.now();
    const { gateway } = await federate(
      {
        capabilities: { tools: {}, resources: {}, prompts: {} },
        list: (response, id, page, method) => {
          if (method === 'tools/list') return void answerPage(response, id, method, page);
          inFlight++;
          mostInFlight = Math.max(mostInFlight, inFlight);
          setTimeout(() => {
            inFlight--;
            if (!response.destroyed) answerPage(response, id, method, page);
          }, delayMs);
        },
      },
      { timeoutSeconds: 2 },
    );
    const took = Date.now() - began;
    const [status] = gateway.gateway.federation?.status() ?? [];
    // Its resource and its template count together.
    expect(status).toMatchObject({ state: 'listed', tools: 1, resources: 2, prompts: 1 });
    expect(mostInFlight).toBe(3);
    // 3 x 1.2 s one after another; together 1.2 s plus the gateway's own start.
    expect(took).toBeLessThan(3_000);
  });
});

/**
 * A raw 2026-07-28 server: `server/discover`, `tools/list` answered by `tools(listing)` (the listing's count, from 1),
 * and each `tools/call` by `call` (its headers given).
 */
async function startModernBreaker(options: {
  tools: (listing: number) => Record<string, unknown>[];
  call: (headers: Record<string, string | string[] | undefined>) => Record<string, unknown>;
}) {
  const served = { listings: 0, calls: 0 };
  const server = createServer((request, response) => {
    onJsonBody(request, (body) => {
      const method = String(body?.['method']);
      const json = (message: Record<string, unknown>) =>
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', id: body?.['id'], ...message }));
      if (request.method !== 'POST') return void response.writeHead(405).end();
      if (method === 'server/discover') {
        return json({
          result: {
            supportedVersions: ['2026-07-28'],
            capabilities: { tools: {} },
            resultType: 'complete',
            _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'breaker', version: '2.0.0' } },
          },
        });
      }
      if (method === 'tools/list') {
        served.listings++;
        const tools = options.tools(served.listings);
        return json({ result: { tools, resultType: 'complete', ttlMs: 0, cacheScope: 'private' } });
      }
      if (method === 'tools/call') {
        served.calls++;
        return json(options.call(request.headers));
      }
      response.writeHead(202).end();
    });
  });
  return { ...(await listenOnLoopback(server)), served };
}

async function federateModern(server: Parameters<typeof startModernBreaker>[0]) {
  const modern = await startModernBreaker(server);
  upstream = modern;
  gateway = await gatewayFor(modern.url, { timeoutSeconds: 30 });
  return { modern, gateway };
}

describe('a 2026-07-28 server answering a call with a header mismatch (-32020)', () => {
  it('header_mismatch_relists_server_tools: a call makes the SDK client neither list the server tools nor compile their output schemas', async () => {
    const many = Array.from({ length: 20_000 }, (_, i) => ({
      name: `t${i}`,
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object', properties: { [`p${i}`]: { type: 'string', minLength: i } } },
    }));
    const { modern, gateway } = await federateModern({
      tools: (listing) => (listing === 1 ? [{ name: 'ping', inputSchema: { type: 'object' } }] : many),
      call: () => ({ error: { code: -32020, message: 'Mcp-Param headers do not match the arguments' } }),
    });
    const client = await connectClientV2(`${gateway.url}/mcp/acme/all`, clientKey);
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    try {
      const result = (await client.callTool({ name: 'remote_ping', arguments: {} })) as { isError?: boolean };
      expect(result.isError).toBe(true);
    } finally {
      lag.disable();
      await client.close();
    }
    // The gateway's own listing only: the call did not list the server's tools again.
    expect(modern.served.listings).toBe(1);
    expect(lag.max / 1e6).toBeLessThan(1_000);
  });

  it('header_mismatch_relists_server_tools: the first call mirrors the x-mcp-header parameters of the listed tool', async () => {
    const seen: (string | undefined)[] = [];
    const { modern, gateway } = await federateModern({
      tools: () => [
        {
          name: 'ping',
          inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } } },
        },
      ],
      call: (headers) => {
        seen.push(headers['mcp-param-region'] as string | undefined);
        return { result: { content: [{ type: 'text', text: 'pong' }], resultType: 'complete' } };
      },
    });
    const client = await connectClientV2(`${gateway.url}/mcp/acme/all`, clientKey);
    try {
      const result = (await client.callTool({ name: 'remote_ping', arguments: { region: 'eu' } })) as {
        isError?: boolean;
      };
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    expect(seen).toEqual(['eu']);
    expect(modern.served.listings).toBe(1);
  });
});
