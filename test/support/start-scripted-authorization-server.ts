import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the scripted authorization server received. */
export interface AuthorizationServerRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly form: URLSearchParams;
  /** The query string (what a browser brings to `/authorize`). */
  readonly query: URLSearchParams;
}

export type ScriptedHandler = (request: AuthorizationServerRequest, res: ServerResponse) => unknown;

export interface ScriptedAuthorizationServer {
  readonly url: string;
  /** Every request, in order. */
  readonly received: AuthorizationServerRequest[];
  /** Requests to `/token`. */
  tokenRequests(): AuthorizationServerRequest[];
  /** Metadata served at `/.well-known/openid-configuration` (merged over the defaults). */
  setMetadata(metadata: Record<string, unknown>): void;
  /** Replaces the `/token` handler; the default issues fresh tokens with the requested scope. */
  onToken(handler: ScriptedHandler): void;
  /** Serves `/authorize` (a browser's consent page); without one it answers 404. */
  onAuthorize(handler: ScriptedHandler): void;
  close(): Promise<void>;
}

let counter = 0;

/**
 * A scriptable OAuth authorization server on 127.0.0.1 (port 0) for what a real one cannot be made to do:
 * `iss` variants in metadata, narrowed scopes, redirects from the token endpoint, error answers. Serves discovery,
 * `/token` and `/revoke`, and `/authorize` when a test scripts it; the authorization endpoint is never fetched by
 * the gateway (a browser goes there).
 */
export async function startScriptedAuthorizationServer(): Promise<ScriptedAuthorizationServer> {
  const received: AuthorizationServerRequest[] = [];
  let metadata: Record<string, unknown> = {};
  let authorizeHandler: ScriptedHandler | undefined;
  let tokenHandler: ScriptedHandler = (request, res) => {
    counter++;
    const body = {
      access_token: `at-${counter}-${'a'.repeat(24)}`,
      refresh_token: `rt-${counter}-${'r'.repeat(24)}`,
      token_type: 'Bearer',
      expires_in: 3600,
      ...(request.form.get('scope') ? { scope: request.form.get('scope') } : {}),
    };
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const url = new URL(req.url ?? '/', 'http://as');
    const path = url.pathname;
    const request = {
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
      query: url.searchParams,
    };
    received.push(request);
    try {
      if (path === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...defaults(), ...metadata }));
      } else if (path === '/token') {
        await tokenHandler(request, res);
      } else if (path.startsWith('/authorize') && authorizeHandler !== undefined) {
        await authorizeHandler(request, res);
      } else if (path === '/revoke') {
        res.writeHead(200).end();
      } else {
        res.writeHead(404).end();
      }
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const defaults = () => ({
    issuer: url,
    authorization_endpoint: `${url}/authorize`,
    token_endpoint: `${url}/token`,
    revocation_endpoint: `${url}/revoke`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
  });
  return {
    url,
    received,
    tokenRequests: () => received.filter((r) => r.path === '/token'),
    setMetadata(next) {
      metadata = next;
    },
    onToken(handler) {
      tokenHandler = handler;
    },
    onAuthorize(handler) {
      authorizeHandler = handler;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
