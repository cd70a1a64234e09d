import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError, httpStatusOf, isGatehouseError, toGatehouseError } from '../core/index.ts';
import type { ConnectionSummary, GatewayUsers, SignedInUser, UserSessionCookie } from '../gateway/index.ts';
import { isSafeReturnPath } from '../oauth/index.ts';
import { escapeHtml, parseCookies } from './create-connect-routes.ts';
import type { HttpRoute } from './create-router.ts';
import { formPageHeaders, renderHtmlPage, shown, writeHtmlPage } from './html-page.ts';

/** A consent a user gave an MCP client (the authorization server's, when one is built in). */
export interface UserConsentView {
  readonly id: string;
  /** The client's name as its metadata gives it, or its id. */
  readonly client: string;
  readonly toolset: string;
  readonly grantedAt?: string;
}

/** Where the account page reads and revokes consents; absent: the page has no consent section. */
export interface UserConsentSource {
  consentsOf(user: SignedInUser): Promise<readonly UserConsentView[]>;
  revokeConsent(user: SignedInUser, id: string): Promise<void>;
  /** The app asking in the pending authorization request `uid` (the sign-in page names it); undefined: none. */
  appAsking?(tenant: string, uid: string): Promise<{ readonly name: string; readonly verified: boolean } | undefined>;
}

export interface UserRoutesOptions {
  readonly users: GatewayUsers;
  readonly consents?: UserConsentSource;
  /**
   * The operator's sign-in form (`OperatorRoutes.signInForm`), shown folded under the tenant's own forms so the
   * operator can open a console page from the page it sends to; absent or empty: not shown.
   */
  readonly operatorSignInForm?: (res: ServerResponse, returnTo: string) => string;
}

const sessionCookie = 'gatehouse_session';
/** Double-submit CSRF cookie of the forms shown before a session exists (sign-in, invite). */
const formCsrfCookie = 'gatehouse_form_csrf';
const formLimit = 8 * 1024;

/**
 * The pages of end users (issue 16): sign-in (`/signin/:tenant`, local form and the single sign-on button), the
 * SSO callback, sign-out, invite links (set a password) and the account page (the user's own connections and
 * consents, each revocable).
 *
 * - The session cookie `gatehouse_session` is HttpOnly, SameSite=Lax, Path=/, Secure when the public URL is https,
 *   and a new one is issued at every sign-in (the previous session of the tenant is ended: no fixation).
 * - Every form posts a CSRF token: bound to the session for signed-in forms, a double-submit cookie (SameSite=
 *   Strict) for sign-in and invite forms; the app's Origin/Host check applies too. A refused form is audited.
 * - `return` is followed only when it is a same-origin relative path (`isSafeReturnPath`, OA-10).
 * Pages are plain HTML, no script, never cached or framed; caller-supplied text is escaped with invisible
 * characters shown (CP-04).
 */
export function createUserRoutes(options: UserRoutesOptions): HttpRoute[] {
  const { users, operatorSignInForm } = options;
  const secure = users.secureCookie ? '; Secure' : '';

  function setSession(res: ServerResponse, session: UserSessionCookie): void {
    res.appendHeader(
      'set-cookie',
      `${sessionCookie}=${session.id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${session.maxAgeSeconds}${secure}`,
    );
  }

  function newFormCsrf(res: ServerResponse, path: string): string {
    const token = randomBytes(24).toString('base64url');
    res.appendHeader(
      'set-cookie',
      `${formCsrfCookie}=${token}; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=3600${secure}`,
    );
    return token;
  }

  function formCsrfValid(req: IncomingMessage, form: URLSearchParams): boolean {
    const cookie = parseCookies(req.headers.cookie)[formCsrfCookie];
    const field = form.get('csrf') ?? '';
    return cookie !== undefined && cookie.length >= 16 && cookie === field;
  }

  /** A sign-in form without its CSRF token (expired, or posted from another page): recorded, the page again (403). */
  async function refusedSignInForm(
    req: IncomingMessage,
    res: ServerResponse,
    form: URLSearchParams,
    tenant: string,
    returnTo: string,
    text: string,
  ): Promise<boolean> {
    if (formCsrfValid(req, form)) return false;
    users.reportRejected(tenant, 'csrf');
    await signInPage(res, 403, tenant, returnTo, { text, code: 'forbidden_origin' });
    return true;
  }

  function returnOf(value: string | null, tenant: string): string {
    return value !== null && isSafeReturnPath(value) ? value : `/account/${encodeURIComponent(tenant)}`;
  }

  async function readForm(readBody: () => Promise<Buffer>): Promise<URLSearchParams> {
    return new URLSearchParams((await readBody()).toString('utf8'));
  }

  /**
   * "Claude asks to use ..." above the form when the return path is an authorization request of this tenant
   * (`/oauth/{tenant}/interaction/{uid}`, where the authorization server sends the browser). The name comes from
   * the pending request, never from the URL, so a crafted link cannot make the page name another app.
   */
  async function appLine(tenant: string, returnTo: string): Promise<string> {
    const match = /^\/oauth\/([^/?#]+)\/interaction\/([^/?#]+)$/.exec(returnTo);
    if (
      match === null ||
      decodeURIComponent(match[1] as string) !== tenant ||
      options.consents?.appAsking === undefined
    )
      return '';
    const app = await options.consents.appAsking(tenant, decodeURIComponent(match[2] as string)).catch(() => undefined);
    if (app === undefined) return '';
    const how = app.verified ? '(registered by your administrator)' : '<em>(unverified: the app describes itself)</em>';
    return `<p><strong>${shown(app.name)}</strong> ${how} asks to connect to your Gatehouse account. Sign in to see what it asks for; you choose on the next page.</p>`;
  }

  /** Why a connect link sent the person here (docs/security.md, who may open a connect link). */
  function connectLinkLine(tenant: string, returnTo: string): string {
    if (!returnTo.startsWith('/connect/')) return '';
    return `<p>The connect link you opened needs you signed in to <strong>${escapeHtml(tenant)}</strong>: a link for a person opens only for that person; one for a client key's subject, or for the shared connection, only for an owner or admin of the tenant (or the operator), who confirms whose connection it becomes.</p>`;
  }

  async function signInPage(
    res: ServerResponse,
    status: number,
    tenant: string,
    returnTo: string,
    problem?: { text: string; code: string },
  ): Promise<void> {
    const options = users.signInOptions(tenant);
    const csrf = newFormCsrf(res, '/signin/');
    const action = `/signin/${encodeURIComponent(tenant)}`;
    const local = options.local
      ? `<form method="post" action="${action}" class="card">
<input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="return" value="${escapeHtml(returnTo)}">
<label for="name">Name</label><input id="name" name="name" autocomplete="username" required maxlength="100">
<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password" required maxlength="512">
<button type="submit">Sign in</button></form>`
      : '';
    const sso = options.sso
      ? `<form method="post" action="${action}/sso" class="card">
<input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="return" value="${escapeHtml(returnTo)}">
<button type="submit">Sign in with ${escapeHtml(options.sso.label)}</button></form>`
      : '';
    const none =
      local === '' && sso === '' ? '<p class="problem">This tenant has no way to sign in configured.</p>' : '';
    const operatorForm = operatorSignInForm?.(res, returnTo) ?? '';
    const operator =
      operatorForm === ''
        ? ''
        : `<details class="card"><summary>Operator of this gateway? Sign in with the admin token</summary>${operatorForm}</details>`;
    const alert =
      problem === undefined
        ? ''
        : `<p class="problem" role="alert">${escapeHtml(problem.text)} <small>Code: <code>${escapeHtml(problem.code)}</code></small></p>`;
    // The SSO form's answer redirects to the provider, which CSP `form-action` must allow (Chromium checks redirects).
    const app = (await appLine(tenant, returnTo)) || connectLinkLine(tenant, returnTo);
    writeHtml(
      res,
      status,
      `Sign in to ${tenant}`,
      `${app}${alert}${local}${sso}${none}${operator}`,
      options.sso?.origin,
    );
  }

  return [
    {
      method: 'GET',
      path: '/signin/:tenant',
      errorFormat: 'page',
      handle: async ({ req, res, params }) => {
        const tenant = params['tenant'] as string;
        const url = new URL(req.url ?? '/', 'http://page');
        const raw = url.searchParams.get('return');
        if (raw !== null && !isSafeReturnPath(raw)) users.reportRejected(tenant, 'return_path');
        await pageOrFailure(res, () => signInPage(res, 200, tenant, returnOf(raw, tenant)));
      },
    },
    {
      method: 'POST',
      path: '/signin/:tenant',
      errorFormat: 'page',
      bodyLimit: formLimit,
      handle: async ({ req, res, params, readBody, clientAddress }) => {
        const tenant = params['tenant'] as string;
        const form = await readForm(readBody);
        const returnTo = returnOf(form.get('return'), tenant);
        await pageOrFailure(res, async () => {
          users.signInOptions(tenant);
          const expired = 'The sign-in form expired or came from another page. Nothing was checked; sign in again.';
          if (await refusedSignInForm(req, res, form, tenant, returnTo, expired)) return;
          let session: UserSessionCookie;
          try {
            session = await users.signInWithPassword(
              tenant,
              form.get('name') ?? '',
              form.get('password') ?? '',
              clientAddress,
            );
          } catch (thrown) {
            const error = toGatehouseError(thrown);
            if (error.code === 'rate_limited') {
              const retry = Number(error.details['retryAfterSeconds'] ?? 60);
              res.setHeader('retry-after', String(retry));
              await signInPage(res, 429, tenant, returnTo, {
                text: `Too many sign-in attempts. Try again in ${retry} seconds.`,
                code: 'rate_limited',
              });
              return;
            }
            if (error.code === 'unauthenticated') {
              await signInPage(res, 401, tenant, returnTo, {
                text: 'Wrong name or password.',
                code: 'unauthenticated',
              });
              return;
            }
            throw thrown;
          }
          // The session the browser came with (if any, maybe planted) ends; the new one has a new id.
          await users.signOut(tenant, req.headers.cookie);
          setSession(res, session);
          redirect(res, returnTo);
        });
      },
    },
    {
      method: 'POST',
      path: '/signin/:tenant/sso',
      errorFormat: 'page',
      bodyLimit: formLimit,
      handle: async ({ req, res, params, readBody }) => {
        const tenant = params['tenant'] as string;
        const form = await readForm(readBody);
        const returnTo = returnOf(form.get('return'), tenant);
        await pageOrFailure(res, async () => {
          users.signInOptions(tenant);
          const expired = 'The sign-in form expired or came from another page; sign in again.';
          if (await refusedSignInForm(req, res, form, tenant, returnTo, expired)) return;
          const started = await users.startSso(tenant, returnTo);
          const { cookie } = started;
          res.appendHeader(
            'set-cookie',
            `${cookie.name}=${cookie.value}; Path=${cookie.path}; HttpOnly; SameSite=Lax; Max-Age=${cookie.maxAgeSeconds}${secure}`,
          );
          redirect(res, started.redirectUrl);
        });
      },
    },
    {
      method: 'GET',
      path: '/signin/:tenant/sso/callback',
      errorFormat: 'page',
      handle: async ({ req, res, params }) => {
        const tenant = params['tenant'] as string;
        const url = new URL(req.url ?? '/', 'http://page');
        await pageOrFailure(res, async () => {
          const ssoPath = `/signin/${encodeURIComponent(tenant)}/sso`;
          // The pending sign-in is single use, whatever the outcome.
          res.appendHeader('set-cookie', `gatehouse_sso=; Path=${ssoPath}; HttpOnly; SameSite=Lax; Max-Age=0${secure}`);
          const done = await users.completeSso(tenant, url.searchParams, req.headers.cookie);
          await users.signOut(tenant, req.headers.cookie);
          setSession(res, done.session);
          redirect(res, done.returnTo);
        });
      },
    },
    {
      method: 'POST',
      path: '/signout',
      errorFormat: 'page',
      bodyLimit: formLimit,
      handle: async ({ req, res, readBody }) => {
        const form = await readForm(readBody);
        const tenant = form.get('tenant') ?? '';
        await pageOrFailure(res, async () => {
          users.signInOptions(tenant);
          if (!users.checkCsrf(req.headers.cookie, form.get('csrf') ?? '')) {
            users.reportRejected(tenant, 'csrf');
            throw new GatehouseError('forbidden_origin', 'The sign-out form expired or came from another page');
          }
          await users.signOut(tenant, req.headers.cookie);
          res.appendHeader('set-cookie', `${sessionCookie}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure}`);
          redirect(res, `/signin/${encodeURIComponent(tenant)}`);
        });
      },
    },
    {
      method: 'GET',
      path: '/invite/:token',
      errorFormat: 'page',
      handle: async ({ res, params }) => {
        await pageOrFailure(res, async () => {
          const token = params['token'] as string;
          const user = await users.openInvite(token);
          if (user === undefined)
            throw new GatehouseError('not_found', 'This invite link is not valid (used, expired or replaced)');
          invitePage(res, 200, token, user, newFormCsrf(res, '/invite/'));
        });
      },
    },
    {
      method: 'POST',
      path: '/invite/:token',
      errorFormat: 'page',
      bodyLimit: formLimit,
      handle: async ({ req, res, params, readBody }) => {
        const form = await readForm(readBody);
        const token = params['token'] as string;
        await pageOrFailure(res, async () => {
          const user = await users.openInvite(token);
          if (user === undefined)
            throw new GatehouseError('not_found', 'This invite link is not valid (used, expired or replaced)');
          if (!formCsrfValid(req, form)) {
            users.reportRejected(user.tenant, 'csrf');
            invitePage(res, 403, token, user, newFormCsrf(res, '/invite/'), {
              text: 'The form expired or came from another page; nothing was changed.',
              code: 'forbidden_origin',
            });
            return;
          }
          const password = form.get('password') ?? '';
          if (password !== (form.get('confirm') ?? '')) {
            invitePage(res, 400, token, user, newFormCsrf(res, '/invite/'), {
              text: 'The two passwords differ.',
              code: 'invalid_request',
            });
            return;
          }
          let session: UserSessionCookie;
          try {
            session = await users.acceptInvite(token, password);
          } catch (thrown) {
            if (isGatehouseError(thrown) && thrown.code === 'invalid_request') {
              invitePage(res, 400, token, user, newFormCsrf(res, '/invite/'), {
                text: thrown.message,
                code: thrown.code,
              });
              return;
            }
            throw thrown;
          }
          setSession(res, session);
          redirect(res, `/account/${encodeURIComponent(user.tenant)}`);
        });
      },
    },
    {
      method: 'GET',
      path: '/account/:tenant',
      errorFormat: 'page',
      handle: async ({ req, res, params }) => {
        const tenant = params['tenant'] as string;
        await pageOrFailure(res, async () => {
          users.signInOptions(tenant);
          const session = await users.activeSession(tenant, req.headers.cookie);
          if (session === undefined) {
            redirect(res, `/signin/${encodeURIComponent(tenant)}?return=${encodeURIComponent(`/account/${tenant}`)}`);
            return;
          }
          const [connections, consents] = await Promise.all([
            users.connectionsOf(session.user),
            options.consents?.consentsOf(session.user),
          ]);
          writeHtml(res, 200, 'Your account', renderAccount(session.user, session.csrfToken, connections, consents));
        });
      },
    },
    {
      method: 'POST',
      path: '/account/:tenant/:kind/:id/revoke',
      errorFormat: 'page',
      bodyLimit: formLimit,
      handle: async ({ req, res, params, readBody }) => {
        const tenant = params['tenant'] as string;
        const kind = params['kind'] as string;
        const id = params['id'] as string;
        const form = await readForm(readBody);
        await pageOrFailure(res, async () => {
          users.signInOptions(tenant);
          if (kind !== 'connections' && !(kind === 'consents' && options.consents)) {
            throw new GatehouseError('not_found', 'No such route');
          }
          const session = await users.activeSession(tenant, req.headers.cookie);
          if (session === undefined) throw new GatehouseError('unauthenticated', 'Sign in first');
          if (!users.checkCsrf(req.headers.cookie, form.get('csrf') ?? '')) {
            users.reportRejected(tenant, 'csrf', session.user.id);
            throw new GatehouseError(
              'forbidden_origin',
              'The form expired or came from another page; nothing was revoked',
            );
          }
          try {
            if (kind === 'connections') await users.revokeConnection(session.user, id);
            else await options.consents?.revokeConsent(session.user, id);
          } catch (thrown) {
            if (isGatehouseError(thrown) && thrown.code === 'not_found') {
              users.reportRejected(tenant, 'not_own_connection', session.user.id);
            }
            throw thrown;
          }
          redirect(res, `/account/${encodeURIComponent(tenant)}`);
        });
      },
    },
  ];
}

/** Runs a page handler; a failure becomes a page with its stable code (an `internal` message is never shown). */
async function pageOrFailure(res: ServerResponse, fn: () => void | Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (thrown) {
    const error = toGatehouseError(thrown);
    if (error.code === 'store_unavailable' || error.code === 'internal') throw thrown;
    if (res.headersSent) throw thrown;
    writeHtml(
      res,
      httpStatusOf[error.code],
      error.code === 'not_found' ? 'Not found' : 'Not done',
      `<p class="problem">${escapeHtml(error.message)}</p><p><small>Code: <code>${escapeHtml(error.code)}</code></small></p>`,
    );
  }
}

function invitePage(
  res: ServerResponse,
  status: number,
  token: string,
  user: SignedInUser,
  csrf: string,
  problem?: { text: string; code: string },
): void {
  const alert =
    problem === undefined
      ? ''
      : `<p class="problem" role="alert">${escapeHtml(problem.text)} <small>Code: <code>${escapeHtml(problem.code)}</code></small></p>`;
  writeHtml(
    res,
    status,
    'Set your password',
    `${alert}<p>Welcome, ${shown(user.displayName)}. You sign in to <strong>${shown(user.tenant)}</strong> as
<code>${shown(user.name)}</code>. Choose a password of at least 12 characters.</p>
<form method="post" action="/invite/${encodeURIComponent(token)}" class="card">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="username" value="${escapeHtml(user.name)}" autocomplete="username">
<label for="password">New password</label><input id="password" type="password" name="password" autocomplete="new-password" required minlength="12" maxlength="512">
<label for="confirm">Repeat it</label><input id="confirm" type="password" name="confirm" autocomplete="new-password" required minlength="12" maxlength="512">
<button type="submit">Set password and sign in</button></form>`,
  );
}

function renderAccount(
  user: SignedInUser,
  csrf: string,
  connections: readonly ConnectionSummary[],
  consents: readonly UserConsentView[] | undefined,
): string {
  const tenant = encodeURIComponent(user.tenant);
  const revoke = (kind: string, id: string, label: string) =>
    `<form method="post" action="/account/${tenant}/${kind}/${encodeURIComponent(id)}/revoke" class="inline">
<input type="hidden" name="csrf" value="${csrf}"><button type="submit" aria-label="${escapeHtml(label)}">Revoke</button></form>`;
  const connectionRows = connections
    .map(
      (c) =>
        `<tr><td>${shown(c.service)}</td><td>${escapeHtml(c.status)}</td><td>${shown(c.scopes.join(' ') || '-')}</td><td>${escapeHtml(c.updatedAt)}</td><td>${revoke('connections', c.id, `Revoke ${c.service}`)}</td></tr>`,
    )
    .join('');
  const connectionsHtml =
    connections.length === 0
      ? '<p>You have not connected any account yet. An agent that needs one gives you a link to connect it.</p>'
      : `<table><thead><tr><th>Service</th><th>Status</th><th>Scopes</th><th>Updated</th><th></th></tr></thead><tbody>${connectionRows}</tbody></table>`;
  const consentsHtml =
    consents === undefined
      ? ''
      : `<h2>Apps you allowed</h2>${
          consents.length === 0
            ? '<p>No MCP client has your consent.</p>'
            : `<table><thead><tr><th>Client</th><th>Toolset</th><th>Since</th><th></th></tr></thead><tbody>${consents
                .map(
                  (c) =>
                    `<tr><td>${shown(c.client)}</td><td>${shown(c.toolset)}</td><td>${escapeHtml(c.grantedAt ?? '')}</td><td>${revoke('consents', c.id, `Revoke ${c.client}`)}</td></tr>`,
                )
                .join('')}</tbody></table>`
        }`;
  return `<p>Signed in to <strong>${shown(user.tenant)}</strong> as ${shown(user.displayName)} (<code>${shown(user.name)}</code>).</p>
<form method="post" action="/signout" class="inline"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="tenant" value="${escapeHtml(user.tenant)}"><button type="submit">Sign out</button></form>
<h2>Your connected accounts</h2>${connectionsHtml}${consentsHtml}`;
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'referrer-policy': 'same-origin' });
  res.end();
}

const userPageStyle =
  'body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}.card{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem 1rem;margin:1rem 0}.card label{display:block;margin-top:.6rem}.card input{font-size:1rem;width:100%;box-sizing:border-box;padding:.4rem;margin:.3rem 0}button{font-size:1rem;padding:.5rem 1rem;margin-top:.6rem}form.inline{display:inline}form.inline button{margin:0;padding:.2rem .6rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}.problem{color:#a00000}';

/** A page of forms posted to the gateway (`formPageHeaders`); `formTarget`: one more place a form may post to. */
function writeHtml(res: ServerResponse, status: number, title: string, body: string, formTarget?: string): void {
  const headers =
    formTarget === undefined
      ? formPageHeaders
      : {
          ...formPageHeaders,
          'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${formTarget}; frame-ancestors 'none'`,
        };
  writeHtmlPage(res, status, renderHtmlPage(title, userPageStyle, body), headers);
}
