import type { IncomingMessage, ServerResponse } from 'node:http';

export type HttpRouteMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** What a route handler gets for one request. */
export interface HttpContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Decoded `:name` segments of the route path (`*` is under `'*'`). */
  readonly params: Readonly<Record<string, string>>;
  /** Also sent as the `x-request-id` response header. */
  readonly requestId: string;
  /**
   * Where the request came from (`resolveClientAddress`: the socket's peer, or the client named by a trusted proxy's
   * `X-Forwarded-For`). Every per-address budget and log line uses this, never `req.socket` or the header.
   */
  readonly clientAddress: string;
  /** Reads the whole body; rejects with `payload_too_large` over the route's `bodyLimit`. */
  readBody(): Promise<Buffer>;
}

/**
 * One entry of the route table. Modules with HTTP surface (`/oauth/callback`, `/connect/...`, `/api/v1`,
 * `/metrics`) export routes and main.ts passes them to `createHttpApp({ routes })`.
 */
export interface HttpRoute {
  readonly method: HttpRouteMethod | readonly HttpRouteMethod[];
  /** `/mcp/:tenant/:toolset`: `:name` matches one non-empty segment; a final `*` matches the rest (maybe empty). */
  readonly path: string;
  /** Origin and Host validation (MC-06). Default true; off only for probes that carry no browser context. */
  readonly checkOrigin?: boolean;
  /** Largest body `readBody()` accepts, in bytes. Default: the app's `limits.bodyBytes`. */
  readonly bodyLimit?: number;
  /**
   * How errors the route does not answer itself are rendered: problem+json (default), a JSON-RPC error body (MCP),
   * or a page a person reads (`page`: routes a browser opens, `writeErrorPage`; problem+json still to a request
   * that does not accept `text/html`).
   */
  readonly errorFormat?: 'problem' | 'json-rpc' | 'page';
  handle(context: HttpContext): void | Promise<void>;
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: HttpRoute; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not_found' };

interface CompiledRoute {
  readonly route: HttpRoute;
  readonly methods: ReadonlySet<string>;
  readonly segments: readonly string[];
  readonly rest: boolean;
}

/** A linear router over a handful of routes: matching is a split and a few string compares, no regexes. */
export function createRouter(routes: readonly HttpRoute[]): { match(method: string, path: string): RouteMatch } {
  const compiled: CompiledRoute[] = routes.map((route) => {
    const methods = new Set<string>(typeof route.method === 'string' ? [route.method] : route.method);
    if (methods.has('GET')) methods.add('HEAD');
    const segments = route.path.split('/').slice(1);
    const rest = segments.at(-1) === '*';
    return { route, methods, segments: rest ? segments.slice(0, -1) : segments, rest };
  });
  return {
    match(method, path) {
      const parts = path.split('/').slice(1);
      // Only a path that matches with another method needs the Allow list: no Set per ordinary request.
      let allow: Set<string> | undefined;
      for (const entry of compiled) {
        const params = matchSegments(entry, parts);
        if (params === undefined) continue;
        if (entry.methods.has(method)) return { kind: 'found', route: entry.route, params };
        allow ??= new Set<string>();
        for (const m of entry.methods) allow.add(m);
      }
      return allow !== undefined ? { kind: 'method_not_allowed', allow: [...allow] } : { kind: 'not_found' };
    },
  };
}

function matchSegments(entry: CompiledRoute, parts: readonly string[]): Record<string, string> | undefined {
  const { segments, rest } = entry;
  if (rest ? parts.length < segments.length : parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const part = parts[i] as string;
    if (segment.startsWith(':')) {
      if (part === '') return undefined;
      const value = decodeSegment(part);
      if (value === undefined) return undefined;
      params[segment.slice(1)] = value;
    } else if (segment !== part) {
      return undefined;
    }
  }
  if (rest) params['*'] = parts.slice(segments.length).join('/');
  return params;
}

function decodeSegment(part: string): string | undefined {
  if (!part.includes('%')) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
