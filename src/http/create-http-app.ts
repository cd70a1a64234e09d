import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequestId, GatehouseError, httpStatusOf, isGatehouseError, toGatehouseError } from '../core/index.ts';
import type { Gateway } from '../gateway/index.ts';
import { createMcpEndpoint, writeJsonRpcError } from '../mcp/index.ts';
import type { ProcessBus } from '../store/index.ts';
import { createOriginCheck } from './create-origin-check.ts';
import { createRouter, type HttpContext, type HttpRoute } from './create-router.ts';
import { describeRequest } from './describe-request.ts';
import { readBody } from './read-body.ts';
import { resolveClientAddress, toTrustedProxies } from './resolve-client-address.ts';
import { writeErrorPage } from './write-error-page.ts';
import { writeProblem } from './write-problem.ts';

/** The pino-compatible slice of a logger the HTTP layer uses. */
export interface HttpLogger {
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
  /** With `isLevelEnabled('info')`: one line per finished request (`describeRequest`). */
  info?(details: Record<string, unknown>, message: string): void;
  /** With `isLevelEnabled('trace')`: the inbound headers (credential headers redacted by the logger). */
  trace?(details: Record<string, unknown>, message: string): void;
  isLevelEnabled?(level: string): boolean;
}

export interface HttpLimits {
  /** Largest `POST /mcp/...` body, bytes. Default 1 MiB. */
  readonly mcpBodyBytes?: number;
  /** Largest body for other routes without their own `bodyLimit`, bytes. Default 1 MiB. */
  readonly bodyBytes?: number;
}

export interface HttpAppOptions {
  readonly gateway: Gateway;
  /** Public base URL (`https://gw.example.com`): its origin and host are the ones accepted (MC-06). */
  readonly publicUrl: string;
  /** Extra browser origins allowed to call the gateway. */
  readonly allowedOrigins?: readonly string[];
  /** The listen address, when known: loopback lets loopback Host names through (see `createOriginCheck`). */
  readonly listenHost?: string;
  /**
   * Proxies whose `X-Forwarded-For` names the client (config `trustedProxies`, already validated). Default: none,
   * the client is the socket's peer.
   */
  readonly trustedProxies?: readonly string[];
  readonly logger?: HttpLogger;
  readonly limits?: HttpLimits;
  /** Routes of other modules (`/oauth/callback`, `/connect/...`, `/api/v1`, `/metrics`), matched after the built-in ones. */
  readonly routes?: readonly HttpRoute[];
  /** Requests between the gateway processes (Redis): a 2026-07-28 client's retry reaches the process holding its call. */
  readonly processBus?: ProcessBus;
}

/** A node:http request listener, plus what a graceful shutdown needs. */
export interface HttpApp {
  (req: IncomingMessage, res: ServerResponse): void;
  /**
   * Starts draining: `/readyz` answers 503 (`draining`) so a balancer stops sending, and every response carries
   * `Connection: close` so keep-alive clients move to another process. Requests are still served.
   */
  drain(): void;
  /** Requests whose handler is still running. */
  inFlight(): number;
  /** Resolves `true` once no handler is running, or `false` after `timeoutMs` with some still running. */
  settled(timeoutMs: number): Promise<boolean>;
  /** Aborts in-flight MCP exchanges of the SDK leg (the last step of a shutdown). */
  close(): Promise<void>;
}

const mebibyte = 1024 * 1024;

/**
 * The Gatehouse HTTP app on plain node:http. Per request: an id (`x-request-id`), one route lookup, Origin/Host
 * validation for routes that want it, then the handler. Errors thrown by handlers are rendered once, here:
 * problem+json from GatehouseError and `httpStatusOf`, or a JSON-RPC error body on MCP routes.
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { gateway, logger } = options;
  const bodyBytes = options.limits?.bodyBytes ?? mebibyte;
  const checkOrigin = createOriginCheck({
    publicUrl: options.publicUrl,
    allowedOrigins: options.allowedOrigins ?? [],
    ...(options.listenHost === undefined ? {} : { listenHost: options.listenHost }),
  });
  const trustedProxies = toTrustedProxies(options.trustedProxies ?? []);
  const mcp = createMcpEndpoint({
    gateway,
    onError: (error) => logger?.warn({ err: error }, 'MCP request rejected or failed'),
    ...(options.processBus === undefined ? {} : { processBus: options.processBus }),
  });
  const routes: HttpRoute[] = [
    {
      method: ['POST', 'GET', 'DELETE'],
      path: '/mcp/:tenant/:toolset',
      bodyLimit: options.limits?.mcpBodyBytes ?? mebibyte,
      errorFormat: 'json-rpc',
      handle: (ctx) =>
        mcp.handle({
          req: ctx.req,
          res: ctx.res,
          tenant: ctx.params['tenant'] as string,
          toolset: ctx.params['toolset'] as string,
          requestId: ctx.requestId,
          readBody: ctx.readBody,
        }),
    },
    { method: 'GET', path: '/healthz', checkOrigin: false, handle: ({ res }) => writeJson(res, 200, { status: 'ok' }) },
    {
      // Browsers ask for it on the first page of every origin (sign-in, console, approvals): no icon, no 404.
      method: 'GET',
      path: '/favicon.ico',
      checkOrigin: false,
      handle: ({ res }) => void res.writeHead(204, { 'cache-control': 'public, max-age=86400' }).end(),
    },
    {
      method: 'GET',
      path: '/readyz',
      checkOrigin: false,
      handle: async ({ res }) => {
        if (draining) {
          writeJson(res, 503, { status: 'draining' });
          return;
        }
        const ready = await gateway.ready().catch(() => false);
        if (!ready) throw new GatehouseError('store_unavailable', 'Store is not reachable');
        // A federated MCP server that is down degrades its own service only (its tools answer errors meanwhile).
        const degraded = (gateway.federation?.status() ?? [])
          .filter((service) => service.state === 'degraded')
          .map(({ tenant, service }) => ({ tenant, service }));
        writeJson(res, 200, degraded.length === 0 ? { status: 'ready' } : { status: 'ready', degraded });
      },
    },
    ...(options.routes ?? []),
  ];
  const router = createRouter(routes);

  async function serve(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const match = router.match(req.method ?? 'GET', query === -1 ? url : url.slice(0, query));
    if (match.kind === 'not_found') {
      writeProblem(res, new GatehouseError('not_found', 'No such route'));
      return;
    }
    if (match.kind === 'method_not_allowed') {
      writeProblem(res, new GatehouseError('method_not_allowed', 'Method not allowed on this route'), {
        allow: match.allow.join(', '),
      });
      return;
    }
    const { route, params } = match;
    try {
      if (route.checkOrigin !== false) {
        const forbidden = checkOrigin(req.headers);
        if (forbidden !== undefined) throw forbidden;
      }
      const limit = route.bodyLimit ?? bodyBytes;
      let clientAddress: string | undefined;
      const context: HttpContext = {
        req,
        res,
        params,
        requestId,
        // Resolved on first use: a tool call never asks for it.
        get clientAddress() {
          clientAddress ??= resolveClientAddress(req, trustedProxies);
          return clientAddress;
        },
        readBody: () =>
          readBody(req, limit).catch((error: unknown) => {
            // The rest of an over-long body is never read, so the connection cannot be reused.
            if (isGatehouseError(error) && error.code === 'payload_too_large') res.setHeader('connection', 'close');
            throw error;
          }),
      };
      await route.handle(context);
    } catch (thrown) {
      // A page's error is a page for a browser that navigated to it (it accepts HTML), problem JSON for anyone else.
      const format = route.errorFormat === 'page' && !acceptsHtml(req) ? 'problem' : route.errorFormat;
      fail(res, thrown, format ?? 'problem', requestId);
    }
  }

  function acceptsHtml(req: IncomingMessage): boolean {
    return req.headers.accept?.includes('text/html') === true;
  }

  function fail(res: ServerResponse, thrown: unknown, format: HttpRoute['errorFormat'], requestId: string): void {
    const error = toGatehouseError(thrown);
    if (error.code === 'internal') logger?.error({ err: thrown, requestId }, 'HTTP handler failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (format === 'page') writeErrorPage(res, error);
    else if (format === 'json-rpc') {
      writeJsonRpcError(res, httpStatusOf[error.code], {
        code: -32000,
        message: error.message,
        data: { code: error.code },
      });
    } else {
      writeProblem(res, error);
    }
  }

  let draining = false;
  // Requests in flight (their responses still being prepared): those answered after a stop begins close their
  // connection too, and a drain waits for none to be left.
  const open = new Set<ServerResponse>();
  let onSettled: (() => void) | undefined;
  const finished = (res: ServerResponse) => {
    open.delete(res);
    if (open.size === 0) onSettled?.();
  };

  const logRequests = logger?.info !== undefined && logger.isLevelEnabled?.('info') === true;
  const app = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = createRequestId();
    res.setHeader('x-request-id', requestId);
    if (draining) res.setHeader('connection', 'close');
    if (logRequests) {
      const started = performance.now();
      if (logger?.isLevelEnabled?.('trace')) logger.trace?.({ requestId, headers: req.headers }, 'request headers');
      res.once('finish', () =>
        logger?.info?.(describeRequest(req, res, requestId, performance.now() - started), 'request'),
      );
    }
    open.add(res);
    serve(req, res, requestId).then(
      () => finished(res),
      (thrown: unknown) => {
        fail(res, thrown, 'problem', requestId);
        finished(res);
      },
    );
  };
  app.drain = () => {
    draining = true;
    for (const res of open) if (!res.headersSent) res.setHeader('connection', 'close');
  };
  app.inFlight = () => open.size;
  app.settled = (timeoutMs: number) =>
    open.size === 0
      ? Promise.resolve(true)
      : new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            onSettled = undefined;
            resolve(false);
          }, timeoutMs);
          onSettled = () => {
            clearTimeout(timer);
            onSettled = undefined;
            resolve(true);
          };
        });
  app.close = () => mcp.close();
  return app;
}

function writeJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
