import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the scripted server received: its JSON-RPC method (or the HTTP method), headers and body. */
export interface ScriptedRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown> | undefined;
}

/**
 * A raw 2025-06-18 MCP server on 127.0.0.1 (node:http, no SDK), for behaviour the SDK fixtures cannot script: the
 * handshake is answered (`server/discover` refused as a 2025-era server refuses it, `initialize` with session id
 * `scripted-session`), one tool listed (`scripted`), and each `tools/call` answered by `answer`, given the request
 * id; other POSTs get 202. A GET (the standalone stream, or a stream resumed with `Last-Event-ID`) is answered by
 * `stream`, else refused (405).
 */
export async function startScriptedMcpServer(
  answer: (response: ServerResponse, id: string, body: Record<string, unknown>) => void,
  stream?: (response: ServerResponse, lastEventId: string | undefined) => void,
) {
  const received: ScriptedRequest[] = [];
  const server = createServer((request, response) => {
    onJsonBody(request, (body) => {
      const method = body?.['method'];
      received.push({
        method: typeof method === 'string' ? method : String(request.method),
        headers: request.headers,
        body,
      });
      const json = (message: unknown, headers: Record<string, string> = {}) =>
        response.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(message));
      const id = body?.['id'];
      const lastEventId = request.headers['last-event-id'];
      if (request.method === 'GET' && stream !== undefined) {
        stream(response, typeof lastEventId === 'string' ? lastEventId : undefined);
      } else if (request.method === 'GET') response.writeHead(405).end();
      else if (request.method === 'DELETE') response.writeHead(200).end();
      else if (method === 'server/discover')
        json({ jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } });
      else if (method === 'initialize') {
        const result = {
          protocolVersion: '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'scripted', version: '1.0.0' },
        };
        json({ jsonrpc: '2.0', id, result }, { 'mcp-session-id': 'scripted-session' });
      } else if (method === 'tools/list') {
        json({ jsonrpc: '2.0', id, result: { tools: [{ name: 'scripted', inputSchema: { type: 'object' } }] } });
      } else if (method === 'tools/call' && body !== undefined) answer(response, String(id), body);
      else response.writeHead(202).end();
    });
  });
  return { ...(await listenOnLoopback(server)), received };
}

/** What a server streaming without end has sent: the bytes handed to the socket, and whether the client hung up. */
export interface EndlessStream {
  readonly bytes: number;
  readonly closed: boolean;
}

/**
 * Answers with an event stream that never ends, as a hostile server does: `head` first, then `chunk` again and again,
 * as fast as the client reads it, until the client closes the connection or `stopAfterBytes` were sent (then the
 * stream is held open, so a test on an uncapped client ends instead of filling its memory).
 */
export function streamWithoutEnd(
  response: ServerResponse,
  head: string,
  chunk: string,
  stopAfterBytes = 20_000_000,
): EndlessStream {
  const state = { bytes: 0, closed: false };
  response.on('close', () => {
    state.closed = true;
  });
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  const write = (text: string) => {
    state.bytes += Buffer.byteLength(text);
    return response.write(text);
  };
  write(head);
  const pump = () => {
    while (!state.closed && state.bytes < stopAfterBytes) {
      if (!write(chunk)) {
        response.once('drain', pump);
        return;
      }
    }
  };
  pump();
  return state;
}

/** Calls `handle` with a request's body parsed as JSON (undefined when empty), once all of it has arrived. */
export function onJsonBody(
  request: IncomingMessage,
  handle: (body: Record<string, unknown> | undefined) => void,
): void {
  let text = '';
  request.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  request.on('end', () => handle(text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>)));
}

/** Listens on 127.0.0.1 (a free port): the server's `/mcp` URL, and a close that ends its open connections first. */
export async function listenOnLoopback(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
