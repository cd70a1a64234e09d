import type { ServerResponse } from 'node:http';
import { escapeHtml, type GatehouseError, httpStatusOf, toGatehouseError } from '../core/index.ts';
import type { GatewayConnections } from '../gateway/index.ts';
import type { HttpRoute } from './create-router.ts';

/**
 * The browser side of the OAuth connect flow, outside the chat:
 * - `GET /connect/:link?sig=...` checks the signed single-use link, sets the session cookie the callback must
 *   present (HttpOnly, SameSite=Lax, Secure on https, scoped to `/oauth/callback`) and redirects to the
 *   authorization server;
 * - `GET /oauth/callback` completes the flow and answers a plain page that says whether it worked.
 * Pages are plain HTML with every value escaped, no script, no referrer, never cached, never framed.
 */
export function createConnectRoutes(
  connections: GatewayConnections,
  /** Told why a callback failed (code and details, never a token or the cause), for the server log at warn. */
  onCallbackFailure?: (error: GatehouseError) => void,
): HttpRoute[] {
  return [
    {
      method: 'GET',
      path: '/connect/:link',
      handle: async ({ req, res, params }) => {
        const url = new URL(req.url ?? '/', 'http://gatehouse.invalid');
        try {
          const started = await connections.openLink(params['link'] as string, url.searchParams.get('sig'));
          const cookie = [
            `${started.cookie.name}=${started.cookie.value}`,
            'Path=/oauth/callback',
            `Max-Age=${started.cookie.maxAgeSeconds}`,
            'HttpOnly',
            'SameSite=Lax',
            ...(connections.secureCookie ? ['Secure'] : []),
          ].join('; ');
          res.writeHead(302, { ...pageHeaders, location: started.redirectUrl, 'set-cookie': cookie });
          res.end();
        } catch (thrown) {
          writeFailure(res, toGatehouseError(thrown), 'The connect link could not be used');
        }
      },
    },
    {
      method: 'GET',
      path: '/oauth/callback',
      handle: async ({ req, res }) => {
        const url = new URL(req.url ?? '/', 'http://gatehouse.invalid');
        try {
          const done = await connections.completeCallback(url.searchParams, parseCookies(req.headers.cookie));
          const next = done.returnTo === null ? '' : `<p><a href="${escapeHtml(done.returnTo)}">Continue</a></p>`;
          writePage(
            res,
            200,
            'Connected',
            `<p>Connected ${escapeHtml(done.service)} for ${escapeHtml(done.subject)}. You can close this tab.</p>${next}`,
          );
        } catch (thrown) {
          const error = toGatehouseError(thrown);
          onCallbackFailure?.(error);
          writeFailure(res, error, 'The connection could not be completed');
        }
      },
    },
  ];
}

const pageHeaders = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
};

/** The failure page: what failed and its stable code; the message of an `internal` error is never shown. */
function writeFailure(res: ServerResponse, error: GatehouseError, title: string): void {
  const message =
    error.code === 'internal' ? 'Something went wrong inside the gateway; please try again later.' : error.message;
  writePage(
    res,
    httpStatusOf[error.code],
    title,
    `<p>${escapeHtml(title)}: ${escapeHtml(message)}</p><p>Code: <code>${escapeHtml(error.code)}</code></p>`,
  );
}

function writePage(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} - Gatehouse</title></head><body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto"><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  res.writeHead(status, {
    ...pageHeaders,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

/** One escaping for every page (core); re-exported for the http pages that import it from here. */
export { escapeHtml } from '../core/index.ts';

/** `Cookie` header -> name/value pairs (first wins; values are opaque, not decoded). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!(name in cookies)) cookies[name] = part.slice(eq + 1).trim();
  }
  return cookies;
}
