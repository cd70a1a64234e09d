import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { GatehouseError } from '../core/index.ts';
import type { ConsentView, Gateway } from '../gateway/index.ts';
import { escapeHtml } from './create-connect-routes.ts';
import type { HttpContext, HttpRoute } from './create-router.ts';
import { pageHeaders, renderHtmlPage, shown, writeHtmlPage } from './html-page.ts';

/**
 * Gatehouse as the authorization server of MCP clients (src/auth-server), over HTTP:
 * - Protected Resource Metadata (RFC 9728) at `/.well-known/oauth-protected-resource/mcp/{tenant}/{toolset}`
 *   (path-aware, §3.1) and at the root;
 * - authorization server metadata (RFC 8414 §3.1, path inserted) and OpenID discovery for issuer
 *   `{publicUrl}/oauth/{tenant}`, plus the provider's own endpoints under `/oauth/{tenant}/` (authorization,
 *   token, registration, revocation, jwks, its `/.well-known/openid-configuration`);
 * - the interaction page `/oauth/{tenant}/interaction/{uid}`: no Gatehouse session of the tenant -> the sign-in
 *   page with a relative return path; else the consent page (or straight back to the client when this user
 *   already consented to this client for this toolset). The POST is same-origin (Origin check), bound to the
 *   browser by the provider's interaction cookie and to the signed-in user.
 * Must come after the connect routes (`/oauth/callback` also matches `/oauth/:tenant/*`).
 */
export function createOAuthServerRoutes(gateway: Gateway): HttpRoute[] {
  const server = gateway.oauthServer;
  if (server === undefined) return [];
  const discovery = (tenant: string, { req, res, clientAddress }: HttpContext) => {
    if (!server.serves(tenant)) throw new GatehouseError('not_found', 'No authorization server for this tenant');
    return server.handle(tenant, '/.well-known/openid-configuration', req, res, clientAddress);
  };
  return [
    {
      method: 'GET',
      path: '/.well-known/oauth-protected-resource',
      checkOrigin: false,
      handle: ({ res }) => writeJson(res, server.rootResourceMetadata()),
    },
    {
      method: 'GET',
      path: '/.well-known/oauth-protected-resource/mcp/:tenant/:toolset',
      checkOrigin: false,
      handle: ({ res, params }) =>
        writeJson(res, server.resourceMetadata(params['tenant'] as string, params['toolset'] as string)),
    },
    {
      method: 'GET',
      path: '/.well-known/oauth-authorization-server/oauth/:tenant',
      checkOrigin: false,
      handle: (context) => discovery(context.params['tenant'] as string, context),
    },
    {
      method: 'GET',
      path: '/.well-known/openid-configuration/oauth/:tenant',
      checkOrigin: false,
      handle: (context) => discovery(context.params['tenant'] as string, context),
    },
    {
      method: ['GET', 'POST'],
      path: '/oauth/:tenant/interaction/:uid',
      bodyLimit: 4 * 1024,
      handle: async ({ req, res, params, readBody }) => {
        const tenant = params['tenant'] as string;
        const uid = params['uid'] as string;
        const user = await gateway.users?.signedInUser(tenant, req.headers.cookie);
        if (user === undefined) {
          if (gateway.users === undefined) {
            writePage(res, 503, 'Sign-in unavailable', '<p>This gateway has no user sign-in configured.</p>');
            return;
          }
          const back = `/oauth/${encodeURIComponent(tenant)}/interaction/${encodeURIComponent(uid)}`;
          res.writeHead(302, {
            ...pageHeaders,
            location: `/signin/${encodeURIComponent(tenant)}?return=${encodeURIComponent(back)}`,
          });
          res.end();
          return;
        }
        try {
          if (req.method === 'POST') {
            const form = new URLSearchParams((await readBody()).toString('utf8'));
            const decision = form.get('decision');
            if (decision !== 'allow' && decision !== 'deny') {
              throw new GatehouseError('invalid_request', 'decision must be allow or deny');
            }
            await server.decideInteraction(tenant, uid, user, decision, req, res);
            return;
          }
          const view = await server.openInteraction(tenant, uid, user, req, res);
          if (view === undefined) return;
          writePage(res, 200, `Allow ${view.client.name}?`, renderConsentBody(view, user.displayName || user.name));
        } catch (thrown) {
          if (res.headersSent) throw thrown;
          const error = thrown instanceof GatehouseError ? thrown : undefined;
          if (error === undefined || error.code === 'internal') throw thrown;
          writePage(
            res,
            error.code === 'not_found' ? 404 : 400,
            'Sign-in request not usable',
            `<p>${escapeHtml(error.message)}</p><p>Code: <code>${escapeHtml(error.code)}</code></p>`,
          );
        }
      },
    },
    {
      method: ['GET', 'POST', 'OPTIONS', 'DELETE', 'PUT'],
      path: '/oauth/:tenant/*',
      checkOrigin: false,
      bodyLimit: 64 * 1024,
      handle: ({ req, res, params, clientAddress }) => {
        const tenant = params['tenant'] as string;
        if (!server.serves(tenant)) throw new GatehouseError('not_found', 'No such route');
        const path = `/${params['*'] ?? ''}`;
        if (req.method === 'POST' && path === '/reg') assertRegistrationSize(req.headers);
        return server.handle(tenant, path, req, res, clientAddress);
      },
    },
  ];
}

/**
 * The consent page: who asks (verified or not), for which toolset, which tools (read/write), as which accounts.
 * Every client-supplied text goes through `shown`: a bidi override in a self-described `client_name` would
 * otherwise reverse the "unverified" warning beside it (CP-04).
 */
export function renderConsentBody(view: ConsentView, who: string): string {
  const client = `<strong>${shown(view.client.name)}</strong> ${
    view.client.verified ? '(registered by your administrator)' : '<em>(unverified: the app describes itself)</em>'
  }`;
  const tools = view.tools
    .map(
      (t) =>
        `<li><code>${escapeHtml(t.name)}</code> ${escapeHtml(t.title)} <strong>${t.access === 'read' ? 'read' : 'write'}</strong></li>`,
    )
    .join('');
  const accounts =
    view.accounts.length === 0
      ? '<p>No upstream account is used.</p>'
      : `<ul>${view.accounts
          .map(
            (a) =>
              `<li>${escapeHtml(a.service)}: ${a.owner === 'you' ? 'your own account' : 'the shared account'} (${a.connected ? 'connected' : 'not connected yet; you will get a link'})</li>`,
          )
          .join('')}</ul>`;
  return `<p>Signed in as ${escapeHtml(who)}.</p>
<p>${client} (client id <code>${shown(view.client.id)}</code>) asks to use the toolset <strong>${escapeHtml(view.toolset)}</strong> (<code>${escapeHtml(view.toolsetUrl)}</code>) on your behalf.</p>
<h2>Tools</h2><ul>${tools}</ul>
<h2>Accounts it will act as</h2>${accounts}
<p>After you choose, your browser goes back to <strong><code>${escapeHtml(view.returnsTo)}</code></strong>. Allow only if that is the app you are using.</p>
<p>You can revoke this access at any time on your <a href="/account/${encodeURIComponent(view.tenant)}">account page</a>.</p>
<form method="post"><button type="submit" name="decision" value="allow">Allow</button> <button type="submit" name="decision" value="deny">Deny</button></form>`;
}

const consentPageStyle = 'body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto}';

function writePage(res: ServerResponse, status: number, title: string, body: string): void {
  writeHtmlPage(res, status, renderHtmlPage(title, consentPageStyle, body), pageHeaders);
}

/**
 * Largest dynamic registration body (RFC 7591 metadata), bytes: unauthenticated, and stored for every client.
 * The provider reads exactly `Content-Length` bytes, so requiring it (no chunked body) makes it the real cap.
 */
export const maxRegistrationBytes = 8 * 1024;

function assertRegistrationSize(headers: IncomingHttpHeaders): void {
  const declared = headers['content-length'];
  if (declared === undefined) {
    throw new GatehouseError('payload_too_large', 'A client registration needs a Content-Length header');
  }
  if (Number(declared) > maxRegistrationBytes) {
    throw new GatehouseError('payload_too_large', `Client registration metadata is over ${maxRegistrationBytes} bytes`);
  }
}

function writeJson(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': '*',
    'cache-control': 'max-age=300',
  });
  res.end(body);
}
