import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml, httpStatusOf, isGatehouseError } from '../../core/index.ts';
import type { SignedInUser } from '../../gateway/index.ts';
import { type OperatorSessions, operatorActor, sameToken, type TenantRole } from '../../users/index.ts';
import type { HttpContext, HttpRoute } from '../create-router.ts';
import { consoleAssets } from './console-assets.ts';
import { table } from './console-html.ts';
import {
  type ConsoleDependencies,
  type ConsolePage,
  type ConsolePageContext,
  type ConsolePageResult,
  isShownError,
  StaleFormError,
} from './console-page.ts';
import { consolePages } from './console-pages.ts';
import { type ConsoleSection, consoleHref, consoleSections, renderConsolePage, shown } from './render-console-page.ts';

export interface ConsoleRoutesOptions {
  readonly deps: ConsoleDependencies;
  /** The pages served; default `consolePages` (tests may serve others). */
  readonly pages?: readonly ConsolePage[];
  /** The operator's sessions (admin token sign-in, `createOperatorRoutes`); absent: users only. */
  readonly operator?: OperatorSessions;
}

/** Who a console request is from: a user of the tenant with their roles, or the operator. */
interface ConsoleVisitor {
  readonly user: SignedInUser;
  readonly roles: readonly TenantRole[];
  readonly csrfToken: string;
  readonly operator: boolean;
}

/** The operator's highest console role in every tenant (`owner` opens every page). */
const operatorRoles: readonly TenantRole[] = ['owner'];

const formLimit = 64 * 1024;

/**
 * Pages allow what they load from the gateway itself and nothing else: no inline script or style, no framing,
 * forms post only here. Inline SVG charts use presentation attributes and classes, which this allows.
 */
const contentSecurityPolicy =
  "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const pageHeaders = {
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // `same-origin`: Chromium then posts forms with a real Origin (CP-02), and console URLs never leave the origin.
  'referrer-policy': 'same-origin',
  'content-security-policy': contentSecurityPolicy,
} as const;

/**
 * The web console (issue 14) at `/console/:tenant/...`, for the tenant's signed-in users (the session cookie of the
 * sign-in pages, `gatehouse_session`) and for the operator (`gatehouse_operator`, signed in with the admin token),
 * who is an `owner` of every tenant, shown as `operator` and recorded as the actor `operator`; a valid operator
 * session is taken before a user session of the same browser. Pages marked `personal` (the user's own API tokens)
 * are not the operator's:
 * - not signed in: a redirect to `/signin/:tenant?return=<the page>`; signed in without a role the page needs: a
 *   403 page; `/console/:tenant` sends a user who may not see the overview to the first section they may see;
 * - every POST carries the session's CSRF token in the form field `csrf` (refused with 403 and audited otherwise),
 *   on top of the app's Origin/Host check;
 * - every page is `no-store`, never framed, under a strict CSP; styles and the one script are served from
 *   `/console/assets/` (no CDN).
 * Pages are registered in `console-pages.ts` (see `ConsolePage`).
 */
export function createConsoleRoutes(options: ConsoleRoutesOptions): HttpRoute[] {
  const { deps } = options;
  const pages = options.pages ?? consolePages;
  const users = deps.gateway.users;

  /** The sections whose main page the visitor opens, for the navigation. */
  function navOf(visitor: ConsoleVisitor): ConsoleSection[] {
    return consoleSections.filter((section) => {
      const main = pages.find((p) => p.section === section && p.path === mainPathOf(section));
      return main !== undefined && allows(main, visitor);
    });
  }

  /** The operator (a valid operator cookie) or the tenant's signed-in user, else undefined. */
  async function visitorOf(tenant: string, cookieHeader: string | undefined): Promise<ConsoleVisitor | undefined> {
    const operator = await options.operator?.sessionOf(cookieHeader);
    if (operator !== undefined) {
      return {
        user: { id: operatorActor, tenant, name: operatorActor, displayName: 'Operator' },
        roles: operatorRoles,
        csrfToken: operator.csrfToken,
        operator: true,
      };
    }
    const session = await users.activeSession(tenant, cookieHeader);
    if (session === undefined) return undefined;
    const roles = await users.roles.rolesOf(tenant, session.user.id);
    return { user: session.user, roles, csrfToken: session.csrfToken, operator: false };
  }

  /** The operator's token is the session `visitorOf` just read (no second sign-out lookup); a user's is checked by users. */
  function csrfValid(visitor: ConsoleVisitor, cookieHeader: string | undefined, csrf: string): boolean {
    return visitor.operator ? sameToken(visitor.csrfToken, csrf) : users.checkCsrf(cookieHeader, csrf);
  }

  function frame(
    res: ServerResponse,
    context: { tenant: string } & ConsoleVisitor,
    section: ConsoleSection,
    result: Extract<ConsolePageResult, { kind: 'page' }>,
  ): void {
    writeConsolePage(
      res,
      result.status ?? 200,
      renderConsolePage({
        title: result.title,
        section,
        tenant: context.tenant,
        user: { name: context.user.displayName, roles: context.roles },
        csrfToken: context.csrfToken,
        body: result.body,
        nav: navOf(context),
        operator: context.operator,
        ...(result.notice ? { notice: result.notice } : {}),
      }),
    );
  }

  async function answer(
    res: ServerResponse,
    context: ConsolePageContext,
    page: ConsolePage,
    result: ConsolePageResult,
  ): Promise<void> {
    if (result.kind === 'redirect') return redirect(res, result.location);
    if (result.kind === 'stream') {
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('cache-control', 'no-store');
      return result.write(res);
    }
    frame(res, context, page.section, result);
  }

  function handlerOf(page: ConsolePage, method: 'GET' | 'POST') {
    return async ({ req, res, params, readBody }: HttpContext): Promise<void> => {
      const tenant = params['tenant'] as string;
      try {
        users.signInOptions(tenant);
      } catch (thrown) {
        if (isGatehouseError(thrown) && thrown.code === 'not_found') {
          return writePlain(res, 404, 'Not found', 'There is no console here: no such tenant.');
        }
        throw thrown;
      }
      const visitor = await visitorOf(tenant, req.headers.cookie);
      if (visitor === undefined) {
        const here = method === 'GET' ? (req.url ?? consoleHref(tenant, 'overview')) : pathOf(req);
        return redirect(res, `/signin/${encodeURIComponent(tenant)}?return=${encodeURIComponent(here)}`);
      }
      const { user, roles } = visitor;
      const base = { tenant, ...visitor };
      if (!allows(page, visitor)) {
        const nav = navOf(visitor);
        if (page.path === '/' && method === 'GET' && nav[0] !== undefined) {
          return redirect(res, consoleHref(tenant, nav[0]));
        }
        const needed = page.roles.join(', ');
        return frame(res, base, page.section, {
          kind: 'page',
          status: 403,
          title: 'Not allowed',
          body: visitor.operator
            ? '<p class="empty">This page shows a user\'s own things (their personal API tokens); the operator is no user of the tenant and has none. The admin token itself works with the admin API.</p>'
            : `<p class="empty">This page needs one of the roles <strong>${escapeHtml(needed)}</strong> in ${shown(tenant)}; you have ${roles.length === 0 ? 'none' : escapeHtml(roles.join(', '))}. Ask an owner or admin of the tenant to grant one.</p>`,
        });
      }
      const form = method === 'POST' ? new URLSearchParams((await readBody()).toString('utf8')) : new URLSearchParams();
      const context: ConsolePageContext = {
        ...base,
        actor: visitor.operator ? operatorActor : `user:${user.id}`,
        params,
        query: new URL(req.url ?? '/', 'http://console').searchParams,
        form,
        deps,
      };
      if (method === 'POST') {
        if (!csrfValid(visitor, req.headers.cookie, form.get('csrf') ?? '')) {
          users.reportRejected(tenant, 'csrf', user.id);
          const again = await pageOrProblem(page, { ...context, form: new URLSearchParams() });
          const text = 'The form expired or came from another page; nothing was changed.';
          return answer(res, context, page, withNotice(again, 403, text));
        }
        let result: ConsolePageResult;
        try {
          result = await (page.post as NonNullable<ConsolePage['post']>)(context);
        } catch (thrown) {
          if (!isShownError(thrown)) throw thrown;
          if (thrown instanceof StaleFormError) {
            result = staleFormPage(thrown, form);
          } else {
            const again = await pageOrProblem(page, { ...context, form: new URLSearchParams() });
            result = withNotice(again, httpStatusOf[thrown.code], thrown.message);
          }
        }
        return answer(res, context, page, result);
      }
      return answer(res, context, page, await pageOrProblem(page, context));
    };
  }

  const routes: HttpRoute[] = [
    {
      method: 'GET',
      path: '/console/assets/:name',
      handle: ({ res, params }) => {
        const asset = consoleAssets[params['name'] as string];
        if (asset === undefined) return writePlain(res, 404, 'Not found', 'No such console asset.');
        res.writeHead(200, {
          'content-type': asset.type,
          'content-length': Buffer.byteLength(asset.body),
          'cache-control': 'public, max-age=300',
          'x-content-type-options': 'nosniff',
        });
        res.end(asset.body);
      },
    },
  ];
  for (const page of pages) {
    const path = page.path === '/' ? '/console/:tenant' : `/console/:tenant${page.path}`;
    routes.push({ method: 'GET', path, errorFormat: 'page', handle: handlerOf(page, 'GET') });
    if (page.post !== undefined) {
      routes.push({
        method: 'POST',
        path,
        errorFormat: 'page',
        bodyLimit: page.bodyLimit ?? formLimit,
        handle: handlerOf(page, 'POST'),
      });
    }
  }
  return routes;
}

/** The page's `get`; a `GatehouseError` it throws (a bad filter, an unknown id) becomes the message on the page. */
async function pageOrProblem(page: ConsolePage, context: ConsolePageContext): Promise<ConsolePageResult> {
  try {
    return await page.get(context);
  } catch (thrown) {
    if (!isShownError(thrown)) throw thrown;
    return {
      kind: 'page',
      status: httpStatusOf[thrown.code],
      title: 'Not shown',
      body: `<p class="empty">Nothing to show. <a href="?">Start again</a>.</p>`,
      notice: { kind: 'error', text: thrown.message },
    };
  }
}

/** Form fields a person may have typed a credential into: never shown back (STYLE: secrets in no message). */
const secretField = /secret|token|password|apikey|clientid/i;

/**
 * The answer to a form made from a version that is no longer stored: nothing was written; the person reloads the
 * current version with the link, and what they sent stays on this page (credential fields left out) to make the
 * change again.
 */
function staleFormPage(error: StaleFormError, form: URLSearchParams): ConsolePageResult {
  const sent = [...new Set(form.keys())]
    .filter((name) => !['csrf', 'version', 'action'].includes(name) && !secretField.test(name))
    .map((name) => [`<code>${escapeHtml(name)}</code>`, `<pre>${shown(form.getAll(name).join('\n'))}</pre>`]);
  return {
    kind: 'page',
    status: 409,
    title: 'Changed since you opened it',
    notice: { kind: 'error', text: error.message },
    body: `<p><a href="${escapeHtml(error.reload)}">Reload the current version</a>, then make your change again on it${sent.length === 0 ? '' : '; what you sent is below, so nothing you typed is lost'}.</p>${sent.length === 0 ? '' : `<section class="not-saved" aria-labelledby="not-saved"><h2 id="not-saved">What you sent (not saved)</h2>${table(['Field', 'Value'], sent)}</section>`}`,
  };
}

/** The page again after a refused or failed form, with why as an error notice. */
function withNotice(result: ConsolePageResult, status: number, text: string): ConsolePageResult {
  return result.kind === 'page' ? { ...result, status, notice: { kind: 'error', text } } : result;
}

function allows(page: ConsolePage, visitor: ConsoleVisitor): boolean {
  if (visitor.operator && page.personal === true) return false;
  return page.roles.some((role) => visitor.roles.includes(role));
}

function mainPathOf(section: ConsoleSection): string {
  return section === 'overview' ? '/' : `/${section}`;
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://console').pathname;
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'referrer-policy': 'same-origin' });
  res.end();
}

/** A console page's answer: HTML, never cached or framed, under the console's strict CSP. */
export function writeConsolePage(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    ...pageHeaders,
  });
  res.end(html);
}

/** A page outside the console frame (no tenant to show it in). */
function writePlain(res: ServerResponse, status: number, title: string, text: string): void {
  writeConsolePage(
    res,
    status,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} - Gatehouse</title><link rel="stylesheet" href="/console/assets/console.css"></head><body><main id="main"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></main></body></html>`,
  );
}
