import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { acceptedContent, createMcpHandler, inputRequired, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

/** A tool of the legacy fixture server: its listing and what a call answers. */
export interface FixtureTool {
  readonly name: string;
  readonly description?: string;
  readonly inputSchema?: Record<string, unknown>;
  readonly outputSchema?: Record<string, unknown>;
  readonly annotations?: Record<string, unknown>;
  /** `request`: the SDK's request context (its cancellation signal, progress token and notification sender). */
  call(
    args: Record<string, unknown>,
    request?: FixtureRequest,
  ): Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** What a fixture tool sees of its request besides the arguments. */
export interface FixtureRequest {
  readonly signal: AbortSignal;
  readonly progressToken?: string | number;
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /**
   * Sends the client `notifications/message` related to this call (on its answer stream), whatever level the
   * session set: the test decides what the server logs.
   */
  log(level: string, data: unknown, logger?: string): Promise<void>;
  /** Sends the client `elicitation/create` or `sampling/createMessage` (related to this call) and awaits its answer. */
  ask(method: 'elicitation/create' | 'sampling/createMessage', params: Record<string, unknown>): Promise<unknown>;
  /**
   * Sends `elicitation/create` or `sampling/createMessage` related to no call (the session's standalone stream), as a
   * plain `server.elicitInput(params)` of the SDK 1.x does, and awaits its answer.
   */
  askOutsideCall(
    method: 'elicitation/create' | 'sampling/createMessage',
    params: Record<string, unknown>,
  ): Promise<unknown>;
  /** Closes this call's answer stream before the answer (a `resumable` server only): the client must resume it. */
  closeStream(): void;
}

/** A resource of the legacy fixture server: its listing (`uri` or `uriTemplate`) and what a read answers. */
export interface FixtureResource {
  readonly uri?: string;
  readonly uriTemplate?: string;
  readonly name: string;
  readonly mimeType?: string;
  readonly description?: string;
  /** `uri` is the URI read (for a template, one it matches; `read` returns undefined for a URI it does not serve). */
  read(uri: string): Record<string, unknown>[] | undefined | Promise<Record<string, unknown>[] | undefined>;
}

export interface FixturePrompt {
  readonly name: string;
  readonly description?: string;
  readonly arguments?: { name: string; description?: string; required?: boolean }[];
  get(args: Record<string, string>): Record<string, unknown>[];
}

/** What a `completion/complete` of the fixture server receives: the server's own prompt name or URI template. */
export interface FixtureCompletionRequest {
  readonly ref: { readonly type: string; readonly name?: string; readonly uri?: string };
  readonly argument: { readonly name: string; readonly value: string };
  readonly context?: { readonly arguments?: Record<string, string> };
}

/** Resources, prompts and completion of the legacy fixture server (capabilities declared only when given). */
export interface FixtureFeatures {
  readonly resources?: FixtureResource[];
  readonly prompts?: FixturePrompt[];
  /** Answers `completion/complete` (the `completions` capability is declared when given). */
  readonly complete?: (request: FixtureCompletionRequest) => {
    values: string[];
    total?: number;
    hasMore?: boolean;
  };
  /** Declares the `logging` capability (the fixture tools log through `FixtureRequest.log`). */
  readonly logging?: boolean;
  /**
   * Resumable answer streams (an event store; each stream opens with a priming event carrying `retry: retryMs`), so a
   * tool may close its answer stream before answering (`FixtureRequest.closeStream`, SEP-1699's polling) and the
   * client resumes it by GET with `Last-Event-ID`. Only for clients of protocol version 2025-11-25 or later.
   */
  readonly resumable?: { readonly retryMs: number };
}

export interface LegacyMcpUpstream {
  readonly url: string;
  /** Tools listed, `pageSize` per `tools/list` page (listing must follow `nextCursor`); editable, then `notifyChanged`. */
  readonly tools: FixtureTool[];
  /** Every `tools/call` received: tool name, arguments, the `Authorization` header it came with, and its `_meta`. */
  readonly calls: {
    name: string;
    args: unknown;
    authorization: string | undefined;
    /** The request's `_meta`, when it had one. */
    meta?: Record<string, unknown>;
  }[];
  /**
   * Every `resources/read`, `prompts/get` and `completion/complete` received: the URI, prompt name (or a completion's
   * ref name or URI), and the `Authorization` header.
   */
  readonly reads: { method: string; target: string; authorization: string | undefined }[];
  /** Resources and prompts served (editable, then `notifyChanged`). */
  readonly features: { resources: FixtureResource[]; prompts: FixturePrompt[] };
  /** Sessions initialised so far. */
  sessionsOpened(): number;
  /** Forgets every session: the next request with an old session id gets 404 (session expiry). */
  expireSessions(): void;
  /** Sends `notifications/tools/list_changed` (and the resources and prompts ones) on every open session. */
  notifyChanged(): Promise<void>;
  close(): Promise<void>;
}

/** How a fixture server protected by the MCP authorization spec checks requests (instead of one static token). */
export interface UpstreamGuard {
  /** Whether a request with this `Authorization` header may reach the server (e.g. a token the AS says is active). */
  accepts(authorization: string | undefined): Promise<boolean>;
  /** The `WWW-Authenticate` header of a 401. */
  challenge(): string;
  /** JSON documents served to GET at these paths without a token (the protected resource metadata). */
  documents(): Readonly<Record<string, unknown>>;
  /**
   * A per-request refusal after the token was accepted (a scope a tool needs): the status and `WWW-Authenticate` to
   * answer a POST with, given its JSON-RPC body; undefined lets it through.
   */
  refuses?(
    authorization: string | undefined,
    body: unknown,
  ): Promise<{ status: 401 | 403; challenge: string } | undefined>;
}

/**
 * A 2025-era MCP server on 127.0.0.1 built with the official SDK 1.x: stateful Streamable HTTP sessions (a session
 * id per `initialize`, 404 for an unknown one), a bearer token it requires when `token` is given (a string, or a
 * guard that checks tokens and serves metadata), tools listed `pageSize` per page, and calls answered by the
 * fixture tools.
 */
export async function startLegacyMcpUpstream(
  tools: FixtureTool[],
  token?: string | UpstreamGuard,
  pageSize = 2,
  served: FixtureFeatures = {},
): Promise<LegacyMcpUpstream> {
  const features = { resources: served.resources ?? [], prompts: served.prompts ?? [] };
  const reads: LegacyMcpUpstream['reads'] = [];
  const pageOf = <T>(items: T[], cursor: string | undefined) => {
    const start = Number(cursor ?? '0');
    const next = start + pageSize;
    return { items: items.slice(start, next), ...(next < items.length ? { nextCursor: String(next) } : {}) };
  };
  type Session = { current: IncomingMessage; transport: StreamableHTTPServerTransport; server: Server };
  const sessions = new Map<string, Session>();
  const calls: LegacyMcpUpstream['calls'] = [];
  let opened = 0;

  function createSessionServer(authorization: () => string | undefined): Server {
    const server = new Server(
      { name: 'fixture-legacy', version: '1.0.0' },
      {
        capabilities: {
          tools: { listChanged: true },
          ...(served.resources ? { resources: { listChanged: true } } : {}),
          ...(served.prompts ? { prompts: { listChanged: true } } : {}),
          ...(served.complete ? { completions: {} } : {}),
          ...(served.logging ? { logging: {} } : {}),
        },
      },
    );
    const complete = served.complete;
    if (complete) {
      server.setRequestHandler(CompleteRequestSchema, async (request) => {
        const { ref, argument, context } = request.params;
        const target = ref.type === 'ref/prompt' ? String(ref['name']) : String(ref['uri']);
        reads.push({ method: 'completion/complete', target, authorization: authorization() });
        return { completion: complete({ ref, argument, ...(context ? { context } : {}) }) } as never;
      });
    }
    const listed = <T extends object>(item: T) =>
      Object.fromEntries(Object.entries(item).filter(([, value]) => typeof value !== 'function'));
    if (served.resources) {
      server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
        const page = pageOf(
          features.resources.filter((r) => r.uri !== undefined),
          request.params?.cursor,
        );
        return {
          resources: page.items.map(listed),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        } as never;
      });
      server.setRequestHandler(ListResourceTemplatesRequestSchema, async (request) => {
        const page = pageOf(
          features.resources.filter((r) => r.uriTemplate !== undefined),
          request.params?.cursor,
        );
        return {
          resourceTemplates: page.items.map(listed),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        } as never;
      });
      server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
        reads.push({ method: 'resources/read', target: request.params.uri, authorization: authorization() });
        for (const resource of features.resources) {
          const contents = await resource.read(request.params.uri);
          if (contents !== undefined) return { contents } as never;
        }
        throw new McpError(-32002, `Resource not found: ${request.params.uri}`);
      });
    }
    if (served.prompts) {
      server.setRequestHandler(ListPromptsRequestSchema, async (request) => {
        const page = pageOf(features.prompts, request.params?.cursor);
        return {
          prompts: page.items.map(listed),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        } as never;
      });
      server.setRequestHandler(GetPromptRequestSchema, async (request) => {
        reads.push({ method: 'prompts/get', target: request.params.name, authorization: authorization() });
        const prompt = features.prompts.find((p) => p.name === request.params.name);
        if (prompt === undefined) throw new McpError(-32602, `Unknown prompt: ${request.params.name}`);
        return { messages: prompt.get(request.params.arguments ?? {}) } as never;
      });
    }
    server.setRequestHandler(ListToolsRequestSchema, async (request) => {
      const start = Number(request.params?.cursor ?? '0');
      const page = tools.slice(start, start + pageSize).map(({ call: _call, ...listed }) => ({
        inputSchema: { type: 'object', properties: {} },
        ...listed,
      }));
      const next = start + pageSize;
      return { tools: page, ...(next < tools.length ? { nextCursor: String(next) } : {}) } as never;
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const meta = request.params._meta;
      calls.push({
        name: request.params.name,
        args: request.params.arguments,
        authorization: authorization(),
        ...(meta === undefined ? {} : { meta: meta as Record<string, unknown> }),
      });
      const tool = tools.find((t) => t.name === request.params.name);
      if (tool === undefined) return { content: [{ type: 'text', text: 'no such tool' }], isError: true };
      const progressToken = request.params._meta?.progressToken;
      return (await tool.call(request.params.arguments ?? {}, {
        signal: extra.signal,
        ...(progressToken === undefined ? {} : { progressToken }),
        ask: (method, params) =>
          extra.sendRequest(
            { method, params } as never,
            method === 'elicitation/create' ? ElicitResultSchema : CreateMessageResultSchema,
          ),
        askOutsideCall: (method, params) =>
          server.request(
            { method, params } as never,
            method === 'elicitation/create' ? ElicitResultSchema : CreateMessageResultSchema,
          ),
        closeStream: () => {
          if (extra.closeSSEStream === undefined) throw new Error('closeStream: the fixture server is not resumable');
          extra.closeSSEStream();
        },
        log: (level, data, logger) =>
          extra.sendNotification({
            method: 'notifications/message',
            params: { level, data, ...(logger === undefined ? {} : { logger }) },
          } as never),
        progress: async (progress, total, message) => {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: 'notifications/progress',
            params: {
              progressToken,
              progress,
              ...(total === undefined ? {} : { total }),
              ...(message === undefined ? {} : { message }),
            },
          });
        },
      })) as never;
    });
    return server;
  }

  const http = createServer((req, res) => {
    void (async () => {
      if (typeof token === 'object') {
        const document =
          req.method === 'GET' ? token.documents()[new URL(req.url ?? '/', 'http://x').pathname] : undefined;
        if (document !== undefined) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
          return;
        }
        if (!(await token.accepts(req.headers.authorization))) {
          res.writeHead(401, { 'www-authenticate': token.challenge() }).end();
          return;
        }
      } else if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
        return;
      }
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const refusal = typeof token === 'object' ? await token.refuses?.(req.headers.authorization, body) : undefined;
      if (refusal !== undefined) {
        res.writeHead(refusal.status, { 'www-authenticate': refusal.challenge, 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'insufficient_scope' }));
        return;
      }
      const id = req.headers['mcp-session-id'];
      const known = typeof id === 'string' ? sessions.get(id) : undefined;
      if (typeof id === 'string' && known === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      if (known !== undefined) {
        known.current = req;
        await known.transport.handleRequest(req, res, body);
        return;
      }
      const entry = { current: req } as Session;
      entry.transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        ...(served.resumable === undefined
          ? {}
          : { eventStore: new InMemoryEventStore(), retryInterval: served.resumable.retryMs }),
        onsessioninitialized: (sessionId) => {
          opened++;
          sessions.set(sessionId, entry);
        },
      });
      entry.server = createSessionServer(() => entry.current.headers.authorization);
      await entry.server.connect(entry.transport);
      await entry.transport.handleRequest(req, res, body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const url = await listen(http);
  return {
    url: `${url}/mcp`,
    tools,
    calls,
    reads,
    features,
    sessionsOpened: () => opened,
    expireSessions() {
      for (const { transport } of sessions.values()) void transport.close();
      sessions.clear();
    },
    async notifyChanged() {
      await Promise.all(
        [...sessions.values()].flatMap(({ server }) => [
          server.sendToolListChanged(),
          ...(served.resources ? [server.sendResourceListChanged()] : []),
          ...(served.prompts ? [server.sendPromptListChanged()] : []),
        ]),
      );
    },
    async close() {
      for (const { transport } of sessions.values()) await transport.close().catch(() => {});
      await closeServer(http);
    },
  };
}

/**
 * A 2026-07-28 MCP server (SDK 2.x `createMcpHandler`, legacy requests refused), so a client must speak the
 * modern era to use it: one tool, `whoami`, answering with structured content; one resource (`modern://motd`) and
 * one prompt (`greet`, argument `who`). `extend` registers more on each request's server; `capabilities` are
 * declared besides those the registrations imply (`logging` for a server that logs).
 */
export async function startModernMcpUpstream(
  extend?: (server: McpServer) => void,
  capabilities: Record<string, object> = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const handler = createMcpHandler(
    () => {
      const server = new McpServer({ name: 'fixture-modern', version: '2.0.0' }, { capabilities });
      extend?.(server);
      server.registerTool(
        'whoami',
        {
          description: 'Who the server is',
          inputSchema: z.object({ greeting: z.string() }),
          outputSchema: z.object({ server: z.string(), greeting: z.string() }),
          annotations: { readOnlyHint: true },
        },
        async ({ greeting }) => ({
          content: [{ type: 'text', text: `modern says ${greeting}` }],
          structuredContent: { server: 'modern', greeting },
        }),
      );
      server.registerResource('motd', 'modern://motd', { mimeType: 'text/plain' }, async (uri) => ({
        contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'modern message of the day' }],
      }));
      server.registerPrompt(
        'greet',
        { description: 'Greets someone', argsSchema: z.object({ who: z.string() }) },
        async ({ who }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Greet ${who}` } }] }),
      );
      return server;
    },
    { legacy: 'reject' },
  );
  const http = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const response = await handler.fetch(
        new Request(`http://127.0.0.1${req.url}`, {
          method: req.method ?? 'POST',
          headers,
          ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
        }),
      );
      const out: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        out[name] = value;
      });
      res.writeHead(response.status, out);
      res.end(Buffer.from(await response.arrayBuffer()));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const url = await listen(http);
  return {
    url: `${url}/mcp`,
    async close() {
      await handler.close();
      await closeServer(http);
    },
  };
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        resolve(chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

function listen(server: HttpServer): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`);
    });
  });
}

function closeServer(server: HttpServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Registers `ask_name` on a 2026-07-28 fixture server: it asks its client for a name by answering `input_required`
 * (an embedded form elicitation) and, on the retry carrying the answer, records the name in `names` and greets it.
 */
export function registerAskingTool(server: McpServer, names: string[]): void {
  server.registerTool(
    'ask_name',
    { description: 'Asks its client for a name', annotations: { destructiveHint: false } },
    async (ctx) => {
      const answer = acceptedContent<{ name?: string }>(ctx.mcpReq.inputResponses, 'name');
      if (answer?.name === undefined) {
        return inputRequired({
          inputRequests: {
            name: inputRequired.elicit({
              message: 'Your name?',
              requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
            }),
          },
        });
      }
      names.push(answer.name);
      return { content: [{ type: 'text', text: `hello ${answer.name}` }] };
    },
  );
}
