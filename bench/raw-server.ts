import { createServer, type ServerResponse } from 'node:http';
import { Agent } from 'undici';
import { listenChild } from './listen-child.ts';
import { readRequestBody, sendBody } from './request-body.ts';
import { readUpstreamEnv } from './upstream-env.ts';

/**
 * The "raw" baseline (BENCHMARKS.md): a minimal hand-written JSON-RPC-over-HTTP server that parses a
 * `tools/call` for `upstream_getItem`, calls the upstream through a pooled undici Agent and returns the body as an
 * MCP tool result. No auth, no policy, no audit, no schema validation: the practical ceiling for a Node gateway.
 * It also answers `initialize` and notifications, just enough for an official SDK client to connect (S13).
 */

const { origin, key } = readUpstreamEnv();
const agent = new Agent({ connections: 128, keepAliveTimeout: 60_000 });

const server = createServer((req, res) => {
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method not allowed' });
  readRequestBody(req).then(
    (body) => handleMessage(body.toString('utf8'), res),
    () => sendJson(res, 400, { error: 'unreadable body' }),
  );
});

async function handleMessage(text: string, res: ServerResponse): Promise<void> {
  let message: {
    id?: unknown;
    method?: unknown;
    params?: { name?: unknown; arguments?: { id?: unknown }; protocolVersion?: unknown };
  };
  try {
    message = JSON.parse(text);
  } catch {
    return sendJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
  }
  const id = message.id ?? null;
  // What a real client sends before its calls (S13): a fixed `initialize` answer, 202 for notifications.
  if (message.method === 'initialize') {
    return sendJson(res, 200, { jsonrpc: '2.0', id, result: initializeResult(message.params) });
  }
  if (message.id === undefined && typeof message.method === 'string') {
    res.writeHead(202).end();
    return;
  }
  const itemId = message.params?.arguments?.id;
  if (message.method !== 'tools/call' || message.params?.name !== 'upstream_getItem' || typeof itemId !== 'string') {
    return sendJson(res, 200, { jsonrpc: '2.0', id, error: { code: -32602, message: 'Unsupported call' } });
  }
  try {
    const upstream = await agent.request({
      origin,
      path: `/items/${encodeURIComponent(itemId)}`,
      method: 'GET',
      headers: { 'x-api-key': key, accept: 'application/json' },
    });
    const body = await upstream.body.text();
    const isError = upstream.statusCode >= 400;
    sendJson(res, 200, { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: body }], isError } });
  } catch (error) {
    const text = `upstream call failed: ${(error as Error).message}`;
    sendJson(res, 200, { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }], isError: true } });
  }
}

/** The client's protocol version when it is one of the 2025 revisions, else the newest; tools only. */
function initializeResult(params: { protocolVersion?: unknown } | undefined): Record<string, unknown> {
  const asked = params?.protocolVersion;
  const versions = ['2025-11-25', '2025-06-18', '2025-03-26'];
  return {
    protocolVersion: typeof asked === 'string' && versions.includes(asked) ? asked : versions[0],
    capabilities: { tools: {} },
    serverInfo: { name: 'bench-raw', version: '1.0.0' },
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendBody(res, status, 'application/json', JSON.stringify(value));
}

await listenChild(server);
