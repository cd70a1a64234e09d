import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AuthInfo,
  classifyInboundRequest,
  createMcpHandler,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { createToolServer, type ToolServerContext } from './create-tool-server.ts';
import { acceptsEventStream, acceptsJson } from './read-fast-tool-call.ts';
import { writeJsonRpcError } from './write-json-rpc-error.ts';

/** One POST the SDK serves: the parsed body and what the tool server needs to know about the request. */
export interface SdkExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly body: unknown;
  readonly context: ToolServerContext;
}

export interface SdkLeg {
  serve(exchange: SdkExchange): Promise<void>;
  close(): Promise<void>;
}

/**
 * Request headers handed to the SDK. An allowlist: the SDK needs only content negotiation and the MCP headers,
 * and the inbound `Authorization` (or any cookie or key) must never travel further than `authenticate()` (MC-02).
 */
const forwardedHeaders = ['content-type', 'accept', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'last-event-id'];

/**
 * The SDK path: everything the fast path does not answer. The body is classified with the SDK's own era
 * predicate (`classifyInboundRequest`, the one `createMcpHandler` runs):
 * - 2025-era traffic is served by a fresh low-level server on a stateless `WebStandardStreamableHTTPServerTransport`,
 *   in JSON mode when the client accepts JSON and in SSE mode when it accepts only `text/event-stream` (or accepts
 *   it and sent a progress token)
 *   (the SDK's own stateless fallback always streams and refuses clients that do not accept both types);
 * - 2026-07-28 traffic and the classifier's rejections go to `createMcpHandler(..., { legacy: 'reject' })`,
 *   which owns the envelope, the header cross-checks, `server/discover` and the per-request transport.
 * The caller reaches the per-request factory through `authInfo`, a fresh object per request mapped to the
 * context in a WeakMap; it carries no token.
 */
export function createSdkLeg(onError: (error: Error) => void): SdkLeg {
  const contexts = new WeakMap<AuthInfo, ToolServerContext>();
  const modern = createMcpHandler(
    (ctx) => {
      const context = ctx.authInfo === undefined ? undefined : contexts.get(ctx.authInfo);
      if (context === undefined) throw new Error('MCP request reached the SDK without a verified caller');
      return createToolServer({ ...context, modern: true });
    },
    { legacy: 'reject', onerror: onError },
  );

  async function serveLegacy(exchange: SdkExchange, abort: AbortController): Promise<void> {
    const accept = exchange.req.headers.accept;
    const json = acceptsJson(accept);
    if (!json && !acceptsEventStream(accept)) {
      writeJsonRpcError(exchange.res, 406, {
        code: -32000,
        message: 'Not Acceptable: Client must accept application/json or text/event-stream',
      });
      return;
    }
    const server = createToolServer(exchange.context);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      // A request with a progress token is answered as an event stream when the client accepts one: its progress
      // notifications travel on it before the result.
      enableJsonResponse: json && !(acceptsEventStream(accept) && hasProgressToken(exchange.body)),
    });
    transport.onerror = onError;
    try {
      await server.connect(transport);
      // The transport insists on both types in Accept; the response mode above already honours the client's.
      const request = toWebRequest(exchange.req, abort.signal, 'application/json, text/event-stream');
      const response = await transport.handleRequest(request, { parsedBody: exchange.body });
      await writeWebResponse(exchange.res, response);
    } finally {
      await transport.close().catch(onError);
      await server.close().catch(onError);
    }
  }

  return {
    async serve(exchange) {
      const abort = new AbortController();
      const onClose = () => {
        if (!exchange.res.writableFinished) abort.abort();
      };
      exchange.res.once('close', onClose);
      try {
        const headers = exchange.req.headers;
        const route = classifyInboundRequest({
          httpMethod: 'POST',
          ...optionalHeader('protocolVersionHeader', headers['mcp-protocol-version']),
          ...optionalHeader('mcpMethodHeader', headers['mcp-method']),
          ...optionalHeader('mcpNameHeader', headers['mcp-name']),
          body: exchange.body,
        });
        if (route.kind === 'legacy') {
          await serveLegacy(exchange, abort);
          return;
        }
        const authInfo: AuthInfo = { token: '', clientId: exchange.context.caller.keyId, scopes: [] };
        contexts.set(authInfo, exchange.context);
        const response = await modern.fetch(toWebRequest(exchange.req, abort.signal), {
          authInfo,
          parsedBody: exchange.body,
        });
        await writeWebResponse(exchange.res, response);
      } finally {
        exchange.res.off('close', onClose);
      }
    },
    close: () => modern.close(),
  };
}

function hasProgressToken(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const params = (body as Record<string, unknown>)['params'];
  const meta = params !== null && typeof params === 'object' ? (params as Record<string, unknown>)['_meta'] : undefined;
  return meta !== null && typeof meta === 'object' && (meta as Record<string, unknown>)['progressToken'] !== undefined;
}

function optionalHeader<K extends string>(key: K, value: string | string[] | undefined): { [P in K]?: string } {
  const text = Array.isArray(value) ? value.join(', ') : value;
  return (text === undefined ? {} : { [key]: text }) as { [P in K]?: string };
}

/** A body-less web Request carrying the allowlisted headers; the SDK gets the parsed body separately. */
function toWebRequest(req: IncomingMessage, signal: AbortSignal, accept?: string): Request {
  const headers = new Headers();
  for (const name of forwardedHeaders) {
    const value = req.headers[name];
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  for (const name in req.headers) {
    const value = req.headers[name];
    if (name.startsWith('mcp-param-') && value !== undefined) headers.set(name, String(value));
  }
  if (accept !== undefined) headers.set('accept', accept);
  return new Request(new URL(req.url ?? '/', 'http://gatehouse.invalid'), { method: 'POST', headers, signal });
}

/** Copies a web Response to node:http, streaming an SSE body as it is produced; stops if the client leaves. */
async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const cancel = () => {
    reader.cancel().catch(() => {});
  };
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      res.write(value);
    }
    res.end();
  } finally {
    res.off('close', cancel);
  }
}
