import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Implementation, isJsonContentType } from '@modelcontextprotocol/server';
import {
  type CallCancellation,
  cancelCall,
  createCallCancellation,
  type GatehouseError,
  httpStatusOf,
  isGatehouseError,
  isPlainObject,
  noteResponseOutcome,
  toGatehouseError,
} from '../core/index.ts';
import type { Caller, Gateway } from '../gateway/index.ts';
import type { ProcessBus } from '../store/index.ts';
import { callToolSafely } from './create-tool-server.ts';
import { forwardedMetaOption } from './forwarded-meta.ts';
import { readFastToolCall } from './read-fast-tool-call.ts';
import { createClientInputRelay } from './relay-client-input.ts';
import { createModernResultMeta, serializeToolCallResponse } from './serialize-tool-call-response.ts';
import { readTaskRequest, serveTaskRequest } from './serve-approval-task.ts';
import { createSdkLeg } from './serve-with-sdk.ts';
import { toUrlElicitationError } from './to-url-elicitation-error.ts';
import { writeJsonRpcError } from './write-json-rpc-error.ts';

export interface McpEndpointOptions {
  readonly gateway: Gateway;
  /** Reported to clients in `initialize` / `server/discover`. */
  readonly serverInfo?: Implementation;
  /** Out-of-band errors and rejected requests (reporting only; never changes a response). */
  readonly onError?: (error: Error) => void;
  /**
   * Whether plain `tools/call` requests are answered without the SDK (default true). Off, the SDK answers every
   * request: the endpoint tests compare both paths' bytes this way.
   */
  readonly fastPath?: boolean;
  /** Requests between the gateway processes (Redis): a client's retry reaches the process holding its call. */
  readonly processBus?: ProcessBus;
}

/** One HTTP exchange on `/mcp/{tenant}/{toolset}`, after the HTTP layer has checked Origin and Host. */
export interface McpExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly tenant: string;
  readonly toolset: string;
  /** The request id (also in `x-request-id`), passed to `gateway.callTool` for the audit record. */
  readonly requestId: string;
  /** Reads the request body; rejects with `payload_too_large` over the route's limit. */
  readBody(): Promise<Buffer>;
}

export interface McpEndpoint {
  handle(exchange: McpExchange): Promise<void>;
  /** Aborts in-flight SDK exchanges. */
  close(): Promise<void>;
}

/**
 * How many POSTs each path answered since start. Tests read it to prove the fast path is taken; it is not part
 * of the public surface.
 */
export const mcpPathCounts = { fast: 0, sdk: 0 };

/** JSON-RPC code for errors raised by the HTTP binding itself (the SDK transports use the same). */
const transportErrorCode = -32000;

/**
 * The MCP Streamable HTTP endpoint, stateless: any process can answer any request.
 * 1. `gateway.authenticate()` first, with the raw `Authorization` header (it goes nowhere else): 401 with
 *    `WWW-Authenticate: Bearer` for a missing or unknown key, one fixed 404 for a wrong tenant, a toolset the key
 *    may not use and a nonexistent endpoint.
 * 2. GET and DELETE (2025 session operations: standalone SSE stream, session end) are 405: there are no sessions.
 * 3. POST: Content-Type must be JSON (415), body within the limit (413), valid JSON (-32700).
 * 4. The tasks utility of 2025-11-25 (a `tools/call` asking for a task, `tasks/get|result|cancel`) is answered here
 *    (see `serveTaskRequest`): the SDK has no runtime for it and refuses a task as a `tools/call` result.
 * 5. A plain `tools/call` of either era is answered here (see `readFastToolCall`); everything else goes to the SDK.
 */
export function createMcpEndpoint(options: McpEndpointOptions): McpEndpoint {
  const { gateway } = options;
  const serverInfo = options.serverInfo ?? { name: 'gatehouse', version: '0.1.0' };
  const onError = options.onError ?? (() => {});
  const sdk = createSdkLeg(onError);
  const fastPath = options.fastPath ?? true;
  const modernMeta = createModernResultMeta(serverInfo);
  const inFlight = createCallsInFlight();
  const inputRelay = createClientInputRelay(options.processBus === undefined ? {} : { bus: options.processBus });

  async function authenticate(exchange: McpExchange): Promise<Caller | undefined> {
    try {
      return await gateway.authenticate(exchange.tenant, exchange.toolset, exchange.req.headers.authorization);
    } catch (thrown) {
      writeAuthError(exchange.res, toGatehouseError(thrown), exchange.req.headers.authorization);
      return undefined;
    }
  }

  return {
    async handle(exchange) {
      const { req, res } = exchange;
      const caller = await authenticate(exchange);
      if (caller === undefined) return;
      if (req.method !== 'POST') {
        writeJsonRpcError(res, 405, { code: transportErrorCode, message: 'Method not allowed.' }, null, {
          allow: 'POST',
        });
        return;
      }
      if (!isJsonContentType(req.headers['content-type'])) {
        writeJsonRpcError(res, 415, {
          code: transportErrorCode,
          message: 'Unsupported Media Type: Content-Type must be application/json',
        });
        return;
      }
      let body: unknown;
      try {
        body = parseJson(await exchange.readBody());
      } catch (thrown) {
        if (isGatehouseError(thrown) && thrown.code === 'payload_too_large') {
          writeJsonRpcError(res, 413, {
            code: transportErrorCode,
            message: thrown.message,
            data: { code: thrown.code },
          });
          return;
        }
        writeJsonRpcError(res, 400, { code: -32700, message: 'Parse error: Invalid JSON' });
        return;
      }
      inFlight.cancelNamed(caller, body);
      const taskRequest = gateway.approvalTasks === undefined ? undefined : readTaskRequest(body);
      if (taskRequest !== undefined && gateway.approvalTasks !== undefined) {
        await serveTaskRequest(gateway.approvalTasks, caller, taskRequest, {
          res,
          requestId: exchange.requestId,
          traceparent: req.headers.traceparent,
        });
        return;
      }
      const call = fastPath ? readFastToolCall(body, req.headers) : undefined;
      if (call !== undefined) {
        mcpPathCounts.fast++;
        const flight = inFlight.open(caller, call.id, res);
        const outcome = await callToolSafely(
          gateway,
          caller,
          call.name,
          call.args,
          exchange.requestId,
          call.meta?.['traceparent'] ?? req.headers.traceparent,
          { cancellation: flight.cancellation, ...forwardedMetaOption(call.meta) },
        ).finally(flight.close);
        // A 2026-07-28 call that may be asked (an `input_required` URL elicitation) never takes the fast path
        // (`readFastToolCall`): only a 2025-era call's `-32042` is answered here.
        const elicitation = call.era === 'legacy' ? toUrlElicitationError(outcome, call.meta) : undefined;
        if (elicitation !== undefined) {
          const text = JSON.stringify({ jsonrpc: '2.0', id: call.id, error: elicitation });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
          res.end(text);
          return;
        }
        const text = serializeToolCallResponse(
          call.id,
          call.name,
          outcome,
          call.era === 'modern' ? modernMeta : undefined,
        );
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      if (Array.isArray(body) && !allowsBatch(req.headers['mcp-protocol-version'])) {
        // JSON-RPC batching was removed from MCP in 2025-06-18; the SDK transport would still accept it.
        writeJsonRpcError(res, 400, {
          code: -32600,
          message: 'Invalid Request: JSON-RPC batches are not supported by this protocol version',
        });
        return;
      }
      mcpPathCounts.sdk++;
      const id = toolCallIdOf(body);
      const flight = id === undefined ? undefined : inFlight.open(caller, id, res);
      try {
        await sdk.serve({
          req,
          res,
          body,
          context: {
            gateway,
            caller,
            requestId: exchange.requestId,
            serverInfo,
            traceparent: req.headers.traceparent,
            inputRelay,
            ...(flight === undefined ? {} : { cancel: flight.cancellation }),
          },
        });
      } finally {
        flight?.close();
      }
    },
    close: () => sdk.close(),
  };
}

/**
 * The `tools/call` requests this process is answering, so a client's cancellation reaches them: a 2025-era client
 * sends `notifications/cancelled` in another POST (the endpoint is stateless: the SDK server that would match it is
 * another instance), and any client may simply leave (its response closed before the answer). A call is named by
 * the caller's tenant and credential and its JSON-RPC id, so one credential can cancel only its own calls; two
 * clients sharing one credential and one id at the same moment are not told apart.
 */
function createCallsInFlight() {
  const calls = new Map<string, CallCancellation>();
  const keyOf = (caller: Caller, id: unknown) => `${caller.tenant}\u0000${caller.keyId}\u0000${JSON.stringify(id)}`;
  return {
    /** A plain cancellation slot per call (no AbortController: the fast path pays nothing for a call not cancelled). */
    open(caller: Caller, id: string | number, res: McpExchange['res']) {
      const key = keyOf(caller, id);
      const cancellation = createCallCancellation();
      calls.set(key, cancellation);
      const left = () => {
        if (!res.writableFinished) cancelCall(cancellation, 'The client closed the request');
      };
      res.once('close', left);
      return {
        cancellation,
        close: () => {
          res.off('close', left);
          if (calls.get(key) === cancellation) calls.delete(key);
        },
      };
    },
    /** A `notifications/cancelled` body (or a batch holding one): aborts the call it names. */
    cancelNamed(caller: Caller, body: unknown): void {
      for (const message of Array.isArray(body) ? body : [body]) {
        if (!isPlainObject(message) || message['method'] !== 'notifications/cancelled') continue;
        const params = message['params'];
        if (!isPlainObject(params)) continue;
        const reason = typeof params['reason'] === 'string' ? params['reason'].slice(0, 200) : 'cancelled';
        const cancellation = calls.get(keyOf(caller, params['requestId']));
        if (cancellation !== undefined) cancelCall(cancellation, reason);
      }
    },
  };
}

/** The id of a single `tools/call` request body. */
function toolCallIdOf(body: unknown): string | number | undefined {
  if (!isPlainObject(body) || body['method'] !== 'tools/call') return undefined;
  const id = body['id'];
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new SyntaxError('Empty body');
  return JSON.parse(body.toString('utf8'));
}

/**
 * Batches are part of 2025-03-26 (and of older revisions); from 2025-06-18 on they are not. A request without
 * `MCP-Protocol-Version` is treated as 2025-03-26, as the spec tells servers to assume.
 */
function allowsBatch(version: string | string[] | undefined): boolean {
  return version === undefined || (typeof version === 'string' && version < '2025-06-18');
}

/**
 * RFC 6750 §3 challenges: no credential gets a bare challenge; a header that is not `Bearer <token>` gets
 * `invalid_request`; a bearer token that is unknown, expired, revoked or issued for another endpoint gets
 * `invalid_token`. Clients read the error code to tell "sign in" from "your credential is wrong". A toolset that
 * accepts OAuth adds `resource_metadata` (RFC 9728 §5.1: where its Protected Resource Metadata is) and `scope`, so
 * an MCP client can discover Gatehouse's authorization server; one that accepts only client keys advertises none.
 */
function challengeOf(
  authorization: string | undefined,
  oauth: { resourceMetadata: string; scope: string } | undefined,
): { header: string; reason: string; message: string } {
  const extra = oauth === undefined ? '' : `, resource_metadata="${oauth.resourceMetadata}", scope="${oauth.scope}"`;
  const what = oauth === undefined ? 'a client key' : 'a client key or an OAuth access token';
  if (authorization === undefined || authorization.trim() === '') {
    return {
      header: `Bearer realm="gatehouse"${extra}`,
      reason: 'no_credentials',
      message: `Unauthorized: ${what} is required (Authorization: Bearer ...)`,
    };
  }
  if (!/^Bearer[ ]+[^\s]+[ ]*$/i.test(authorization)) {
    return {
      header: `Bearer realm="gatehouse", error="invalid_request", error_description="Send the credential as Authorization: Bearer <token>"${extra}`,
      reason: 'invalid_request',
      message: 'Unauthorized: send the credential as Authorization: Bearer <token>',
    };
  }
  return {
    header: `Bearer realm="gatehouse", error="invalid_token", error_description="The credential is not valid here, expired or was revoked"${extra}`,
    reason: 'invalid_token',
    message: `Unauthorized: the credential is not valid here, expired or was revoked`,
  };
}

function oauthChallengeOf(error: GatehouseError): { resourceMetadata: string; scope: string } | undefined {
  const { resourceMetadata, scope } = error.details as { resourceMetadata?: unknown; scope?: unknown };
  return typeof resourceMetadata === 'string' && typeof scope === 'string' ? { resourceMetadata, scope } : undefined;
}

/** Same bodies for every cause of one status, so a response never tells a wrong tenant from a missing one. */
function writeAuthError(res: ServerResponse, error: GatehouseError, authorization: string | undefined): void {
  if (error.code === 'unauthenticated') {
    const challenge = challengeOf(authorization, oauthChallengeOf(error));
    noteResponseOutcome(res, { code: error.code, reason: challenge.reason });
    writeJsonRpcError(
      res,
      401,
      { code: transportErrorCode, message: challenge.message, data: { code: error.code, reason: challenge.reason } },
      null,
      { 'www-authenticate': challenge.header },
    );
    return;
  }
  if (error.code === 'not_found') {
    noteResponseOutcome(res, { code: error.code });
    writeJsonRpcError(res, 404, {
      code: transportErrorCode,
      message: 'Not found: no such MCP endpoint',
      data: { code: error.code },
    });
    return;
  }
  noteResponseOutcome(res, { code: error.code });
  writeJsonRpcError(res, httpStatusOf[error.code], {
    code: transportErrorCode,
    message: error.message,
    data: { code: error.code },
  });
}
