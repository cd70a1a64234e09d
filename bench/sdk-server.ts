import { createServer, type IncomingMessage } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Agent } from 'undici';
import { z } from 'zod';
import { listenChild } from './listen-child.ts';
import { readUpstreamEnv } from './upstream-env.ts';

/**
 * The "sdk" baseline (BENCHMARKS.md): the official `@modelcontextprotocol/sdk` 1.x `McpServer` in stateless
 * Streamable HTTP mode, the way the SDK documents it: a new server and transport per request, JSON responses, one
 * tool with a zod input schema that makes the same upstream call as the raw baseline (pooled undici Agent).
 */

const { origin, key } = readUpstreamEnv();
const agent = new Agent({ connections: 128, keepAliveTimeout: 60_000 });

function createMcpServer(): McpServer {
  const server = new McpServer({ name: 'bench-sdk', version: '1.0.0' });
  server.registerTool(
    'upstream_getItem',
    { description: 'Get one item', inputSchema: { id: z.string().regex(/^[a-z0-9-]{1,40}$/) } },
    async ({ id }) => {
      const upstream = await agent.request({
        origin,
        path: `/items/${encodeURIComponent(id)}`,
        method: 'GET',
        headers: { 'x-api-key': key, accept: 'application/json' },
      });
      const text = await upstream.body.text();
      return { content: [{ type: 'text', text }], isError: upstream.statusCode >= 400 };
    },
  );
  return server;
}

const httpServer = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  readJson(req).then(
    async (body) => {
      const server = createMcpServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    },
    () => res.writeHead(400).end(),
  );
});

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

await listenChild(httpServer);
