import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent } from 'undici';
import { listenChild } from './listen-child.ts';
import { readRequestBody, sendBody } from './request-body.ts';

/**
 * S16's floor for one more hop: a minimal hand-written relay of MCP messages, what "raw" (raw-server.ts) is to an
 * OpenAPI tool call. Every POST body goes unchanged to the remote MCP server at `BENCH_RELAY_TARGET` through a pooled
 * undici Agent, with the headers a Streamable HTTP server reads (content type, accept, protocol version, session id);
 * the answer's status, content type and body come back unchanged. No auth, no policy, no audit, no parsing: what
 * a federating gateway's extra process and loopback hop cost on this machine, before any of its own work.
 */

const target = new URL(process.env['BENCH_RELAY_TARGET'] ?? '');
const agent = new Agent({ connections: 128, keepAliveTimeout: 60_000 });
const forwarded = ['content-type', 'accept', 'mcp-protocol-version', 'mcp-session-id'] as const;

const server = createServer((req, res) => {
  if (req.method !== 'POST') return sendBody(res, 405, 'text/plain', 'method not allowed');
  readRequestBody(req).then(
    (body) => relay(req, body, res),
    () => sendBody(res, 400, 'text/plain', 'unreadable body'),
  );
});

async function relay(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  for (const name of forwarded) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  try {
    const answer = await agent.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: 'POST',
      headers,
      body,
    });
    const text = await answer.body.arrayBuffer();
    const type = answer.headers['content-type'];
    sendBody(res, answer.statusCode, typeof type === 'string' ? type : 'application/octet-stream', Buffer.from(text));
  } catch (error) {
    sendBody(res, 502, 'text/plain', `relay failed: ${(error as Error).message}`);
  }
}

await listenChild(server);
