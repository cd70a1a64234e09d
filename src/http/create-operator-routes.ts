import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { addressBudgetOf, escapeHtml } from '../core/index.ts';
import { isSafeReturnPath } from '../oauth/index.ts';
import type { Limiter } from '../store/index.ts';
import {
  defaultSignInAttempts,
  type OperatorSessions,
  operatorCookieName,
  readCookie,
  sameToken,
} from '../users/index.ts';
import { csrfField, emptyState, table } from './console/console-html.ts';
import { writeConsolePage } from './console/create-console-routes.ts';
import { consoleHref, operatorHeader, renderConsoleFrame, shown } from './console/render-console-page.ts';
import type { HttpRoute } from './create-router.ts';

/** Double-submit CSRF cookie of the operator sign-in form (there is no session yet to bind it to). */
const formCsrfCookie = 'gatehouse_operator_form';
const formLimit = 8 * 1024;

export interface OperatorRoutesOptions {
  readonly sessions: OperatorSessions;
  /** Cookies carry `Secure` (the public URL is https). */
  readonly secureCookie: boolean;
  /**
   * Counts sign-in attempts per client address: the shared Redis limiter when configured (one budget for every
   * process), else one in memory per process.
   */
  readonly limiter: Pick<Limiter, 'admit'>;
  /** Attempts per client address per minute (also the burst); default that of user sign-in (20). */
  readonly attemptsPerMinute?: number;
  /** The tenants the operator's console home lists, with a link to each tenant's console. */
  listTenants(): Promise<
    readonly { readonly id: string; readonly services: readonly string[]; readonly toolsets: readonly unknown[] }[]
  >;
  /** Every operator sign-in, refusal and sign-out, for the log: never the typed token. Must not throw. */
  readonly onEvent?: (event: OperatorSignInEvent) => void;
}

/** One operator sign-in event as logged (the operator is no tenant's user: no tenant audit log holds these). */
export interface OperatorSignInEvent {
  readonly event: 'operator_sign_in' | 'operator_sign_out';
  readonly decision: 'allow' | 'deny';
  /** Why a sign-in was refused. */
  readonly reason?: 'wrong_token' | 'rate_limited' | 'sign_in_off' | 'csrf';
  /** The client address the attempt came from (`HttpContext.clientAddress`). */
  readonly address: string;
}

/** What the operator routes give the other pages: the sign-in form to embed, and the routes themselves. */
export interface OperatorRoutes {
  readonly routes: HttpRoute[];
  /**
   * The operator sign-in form (HTML) for a page to embed (the tenant sign-in page), returning to `returnTo`
   * after sign-in; sets the form's CSRF cookie on `res`. Empty when no admin token is configured.
   */
  signInForm(res: ServerResponse, returnTo: string): string;
}

/**
 * The operator's way into the web console (issue 14): the admin token typed once into a form becomes a console
 * session across every tenant (`createOperatorSessions`), so the operator uses the console without a user account.
 * - `GET /operator/signin`, `POST /operator/signin`: the form; the token is compared in constant time, after
 *   the attempt is admitted by the per-address budget (every attempt counts, right or wrong). A right token sets
 *   `gatehouse_operator` (HttpOnly, SameSite=Strict, Path=/, Secure on https, Max-Age 8 h) and goes to `return`
 *   (a console path or a `/connect/` link, `isSafeReturnPath`) or `/console`. Refusals and sign-ins are reported to `onEvent` for the
 *   log, without the token.
 * - `GET /console`: the operator's home, every tenant with a link to its console; signed out: to the sign-in form.
 * - `POST /operator/signout`: ends the session on every process (recorded in the shared store, so a copy of the
 *   cookie opens nothing anywhere) and clears the cookie; with the session's CSRF token. Ending every operator
 *   session at once is changing the admin token (docs/operations.md).
 * Forms carry a CSRF token (double-submit cookie before sign-in, the session's after) on top of the app's
 * Origin/Host check.
 */
export function createOperatorRoutes(options: OperatorRoutesOptions): OperatorRoutes {
  const { sessions } = options;
  const secure = options.secureCookie ? '; Secure' : '';
  const perMinute = options.attemptsPerMinute ?? defaultSignInAttempts.perAddressPerMinute;

  function report(event: OperatorSignInEvent): void {
    try {
      options.onEvent?.(event);
    } catch {
      // Reporting never changes the answer.
    }
  }

  function signInForm(res: ServerResponse, returnTo: string): string {
    if (!sessions.enabled) return '';
    const csrf = randomBytes(24).toString('base64url');
    res.appendHeader(
      'set-cookie',
      `${formCsrfCookie}=${csrf}; Path=/operator/; HttpOnly; SameSite=Strict; Max-Age=3600${secure}`,
    );
    return `<form method="post" action="/operator/signin" class="operator-signin">${csrfField(csrf)}<input type="hidden" name="return" value="${escapeHtml(returnTo)}">
<label for="admin-token">Admin token</label><input id="admin-token" type="password" name="adminToken" autocomplete="current-password" required maxlength="4096">
<button type="submit">Sign in as operator</button></form>`;
  }

  function signInPage(res: ServerResponse, status: number, returnTo: string, problem?: string): void {
    const alert = problem === undefined ? '' : `<p class="notice notice-error" role="alert">${escapeHtml(problem)}</p>`;
    const form = sessions.enabled
      ? `<p>The operator of this gateway signs in with its admin token (config <code>adminToken</code>) and may then open the console of every tenant as their owner. Tenant users sign in on their tenant's sign-in page with their name and password.</p>
<section class="panel">${signInForm(res, returnTo)}</section>`
      : emptyState(
          'Operator sign-in is off: this gateway has no admin token (config <code>adminToken</code> or <code>GATEHOUSE_ADMIN_TOKEN</code>). Tenant users sign in on their tenant’s sign-in page.',
        );
    writeConsolePage(res, status, operatorFrame('Operator sign-in', `${alert}${form}`));
  }

  function returnOf(value: string | null): string {
    // A console page, or a connect link an operator opens to connect a key's subject or `shared`.
    return value !== null && isSafeReturnPath(value) && /^\/(?:console(?:[/?]|$)|connect\/)/.test(value)
      ? value
      : '/console';
  }

  function formCsrfValid(req: IncomingMessage, form: URLSearchParams): boolean {
    const cookie = readCookie(req.headers.cookie, formCsrfCookie);
    const field = form.get('csrf') ?? '';
    return cookie !== undefined && cookie.length >= 16 && cookie === field;
  }

  const routes: HttpRoute[] = [
    {
      method: 'GET',
      path: '/operator/signin',
      errorFormat: 'page',
      handle: ({ req, res }) => {
        const url = new URL(req.url ?? '/', 'http://page');
        signInPage(res, 200, returnOf(url.searchParams.get('return')));
      },
    },
    {
      method: 'POST',
      path: '/operator/signin',
      errorFormat: 'page',
      bodyLimit: formLimit,
      handle: async ({ req, res, readBody, clientAddress: address }) => {
        const form = new URLSearchParams((await readBody()).toString('utf8'));
        const returnTo = returnOf(form.get('return'));
        const refuse = (status: number, reason: NonNullable<OperatorSignInEvent['reason']>, text?: string) => {
          report({ event: 'operator_sign_in', decision: 'deny', reason, address });
          signInPage(res, status, returnTo, text);
        };
        if (!sessions.enabled) return refuse(404, 'sign_in_off');
        if (!formCsrfValid(req, form)) {
          return refuse(
            403,
            'csrf',
            'The sign-in form expired or came from another page. Nothing was checked; sign in again.',
          );
        }
        const admitted = await options.limiter.admit([
          {
            kind: 'rate',
            key: `operator:signin:addr:${addressBudgetOf(address)}`,
            limit: 'operator_sign_in.address',
            perMinute,
            burst: perMinute,
          },
        ]);
        if (!admitted.admitted) {
          res.setHeader('retry-after', String(admitted.retryAfterSeconds));
          const wait = `Too many sign-in attempts from your address. Try again in ${admitted.retryAfterSeconds} seconds.`;
          return refuse(429, 'rate_limited', wait);
        }
        admitted.release();
        if (!sessions.checkAdminToken(form.get('adminToken') ?? '')) {
          const text = 'Wrong admin token: that is not the adminToken this gateway runs with. Nothing was signed in.';
          return refuse(401, 'wrong_token', text);
        }
        const issued = sessions.issue();
        res.appendHeader(
          'set-cookie',
          `${operatorCookieName}=${issued.value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${issued.maxAgeSeconds}${secure}`,
        );
        res.appendHeader(
          'set-cookie',
          `${formCsrfCookie}=; Path=/operator/; HttpOnly; SameSite=Strict; Max-Age=0${secure}`,
        );
        report({ event: 'operator_sign_in', decision: 'allow', address });
        redirect(res, returnTo);
      },
    },
    {
      method: 'POST',
      path: '/operator/signout',
      errorFormat: 'page',
      bodyLimit: formLimit,
      handle: async ({ req, res, readBody, clientAddress }) => {
        const form = new URLSearchParams((await readBody()).toString('utf8'));
        const session = await sessions.sessionOf(req.headers.cookie);
        // The session just read carries its CSRF token: no second lookup of whether it was signed out.
        if (session !== undefined && !sameToken(session.csrfToken, form.get('csrf') ?? '')) {
          writeConsolePage(
            res,
            403,
            operatorFrame(
              'Not signed out',
              '<p class="notice notice-error" role="alert">The sign-out form expired or came from another page; you are still signed in. <a href="/console">Back to the console</a>.</p>',
            ),
          );
          return;
        }
        // Recorded in the shared store first (every process then refuses a copy of this cookie); when the store
        // cannot be reached this fails, and the operator is not told they signed out while the session lives on.
        if (session !== undefined && (await sessions.end(req.headers.cookie))) {
          report({ event: 'operator_sign_out', decision: 'allow', address: clientAddress });
        }
        res.appendHeader('set-cookie', `${operatorCookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure}`);
        redirect(res, '/operator/signin');
      },
    },
    {
      method: 'GET',
      path: '/console',
      errorFormat: 'page',
      handle: async ({ req, res }) => {
        const session = await sessions.sessionOf(req.headers.cookie);
        if (session === undefined) return redirect(res, '/operator/signin');
        const tenants = await options.listTenants();
        const list =
          tenants.length === 0
            ? emptyState(
                'No tenant yet. Create one with the admin API (<code>POST /api/v1/tenants</code>) or in the config file, then open its console here.',
              )
            : table(
                ['Tenant', 'Services', 'Toolsets'],
                tenants.map((t) => [
                  `<a href="${escapeHtml(consoleHref(t.id, 'overview'))}">${shown(t.id)}</a>`,
                  String(t.services.length),
                  String(t.toolsets.length),
                ]),
              );
        writeConsolePage(
          res,
          200,
          operatorFrame(
            'Tenants',
            `<p>Signed in as the operator: you act as an owner in every tenant's console, and what you change there is recorded with the actor <code>operator</code>. The session ends ${escapeHtml(new Date(session.expiresAt * 1000).toISOString().slice(0, 16).replace('T', ' '))} UTC.</p>${list}`,
            session.csrfToken,
          ),
        );
      },
    },
  ];
  return { routes, signInForm };
}

/** A console page of the operator's own (no tenant): the header with the sign-out form when signed in. */
function operatorFrame(title: string, body: string, csrfToken?: string): string {
  return renderConsoleFrame({
    title: escapeHtml(title),
    place: 'operator',
    who: csrfToken === undefined ? '' : operatorHeader(csrfToken),
    nav: `<li><a href="/console"${csrfToken === undefined ? '' : ' aria-current="page"'}>Tenants</a></li>`,
    main: `<h1>${escapeHtml(title)}</h1>${body}`,
  });
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'referrer-policy': 'same-origin' });
  res.end();
}
