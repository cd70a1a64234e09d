import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml, type GatehouseError, httpStatusOf, showInvisibles, toGatehouseError } from '../core/index.ts';
import type {
  ConnectedAccount,
  ConnectLinkView,
  DescribedSiteChoice,
  GatewayConnections,
  LinkOpener,
} from '../gateway/index.ts';
import { type AccessibleSite, clientMetadataDocumentPath, type SiteChoice } from '../oauth/index.ts';
import { type OperatorSessions, type SignedInUser, sameToken } from '../users/index.ts';
import type { HttpRoute } from './create-router.ts';
import { formPageHeaders, type PageTitle, pageHeaders, renderHtmlPage, shown, writeHtmlPage } from './html-page.ts';

/** Who may be signed in at the browser that opens a connect link (the user routes' and the operator's sessions). */
export interface ConnectLinkVisitors {
  readonly users?: {
    activeSession(
      tenant: string,
      cookieHeader: string | undefined,
    ): Promise<{ readonly user: SignedInUser; readonly csrfToken: string } | undefined>;
    checkCsrf(cookieHeader: string | undefined, csrfToken: string): boolean;
    rolesOf(tenant: string, userId: string): Promise<readonly string[]>;
  };
  readonly operator?: Pick<OperatorSessions, 'sessionOf'>;
}

interface Visitor {
  readonly opener: LinkOpener;
  /** The CSRF token the confirmation form carries: of the user's session, or of the operator's. */
  readonly csrf: { readonly token: string; readonly kind: 'user' | 'operator' } | undefined;
}

const confirmFormLimit = 4 * 1024;

/** The chooser form's CSRF token: a double-submit cookie (SameSite=Strict) that must equal the form field. */
const siteCsrfCookie = 'gh_site_csrf';
const siteFormLimit = 8 * 1024;

/**
 * The browser side of the OAuth connect flow, outside the chat:
 * - `GET /connect/:link?sig=...` checks the signed single-use link and who is at the browser (`decideLinkOpener`:
 *   a user's link needs that user's sign-in, another subject's an owner/admin or the operator, who confirms it;
 *   finding connect_link_forwarded_connects_other_account). Allowed: sets the session cookie the callback must
 *   present (HttpOnly, SameSite=Lax, Secure on https, scoped to `/oauth/callback`) and redirects to the
 *   authorization server. Otherwise the sign-in page (coming back to the link), a refusal page (403), or the
 *   confirmation page, and the link stays unused;
 * - `POST /connect/:link`: the confirmation, with the session's CSRF token (and the app's Origin/Host check);
 * - `GET /oauth/callback` completes the flow and answers a plain page that says whether it worked; a failure
 *   shows its cause (the reason, the provider's error code and description) and, to the browser that started it,
 *   a "Try again" link that starts a fresh connect. An Atlassian account with several sites gets the site chooser
 *   instead (no site is pinned), which posts to
 * - `POST /oauth/callback/site`: the chosen site, with the callback's state, under the session cookie (it is
 *   scoped to `/oauth/callback`, so it covers this path), a CSRF token and the app's Origin/Host check.
 * - `GET /oauth/client-metadata.json`: the gateway's client metadata document, the client id an authorization
 *   server that supports metadata documents fetches (draft-ietf-oauth-client-id-metadata-document).
 * Pages are plain HTML with every value escaped and invisible or bidi characters marked (CP-04), no script,
 * never cached, never framed.
 */
export function createConnectRoutes(
  connections: GatewayConnections,
  /** Told why a callback failed (code and details, never a token or the cause), for the server log at warn. */
  onCallbackFailure?: (error: GatehouseError) => void,
  /** Who is at the browser that opens a link; absent: nobody is ever signed in (only link-alone links open). */
  visitors?: ConnectLinkVisitors,
): HttpRoute[] {
  const secure = connections.secureCookie ? ['Secure'] : [];
  const document = JSON.stringify(connections.clientMetadataDocument);

  /** The tenant's signed-in user (and whether they are an owner/admin) or the operator, with their CSRF token. */
  async function visitorOf(tenant: string, cookieHeader: string | undefined): Promise<Visitor> {
    const operator = await visitors?.operator?.sessionOf(cookieHeader);
    const session = await visitors?.users?.activeSession(tenant, cookieHeader);
    const roles = session === undefined ? [] : await (visitors?.users?.rolesOf(tenant, session.user.id) ?? []);
    const userIsAdmin = roles.includes('owner') || roles.includes('admin');
    // The confirmation is the admin user's when there is one, else the operator's.
    let csrf: Visitor['csrf'];
    if (session !== undefined && (userIsAdmin || operator === undefined)) {
      csrf = { token: session.csrfToken, kind: 'user' };
    } else if (operator !== undefined) {
      csrf = { token: operator.csrfToken, kind: 'operator' };
    }
    return {
      opener: {
        ...(session === undefined ? {} : { user: session.user }),
        admin: userIsAdmin || operator !== undefined,
      },
      csrf,
    };
  }

  /** Opens `/connect/:link` for this browser and answers what it gets: the provider, sign-in, refusal or confirmation. */
  async function answerLink(
    req: IncomingMessage,
    res: ServerResponse,
    linkId: string,
    sig: string | null,
    how: 'visit' | 'after_sign_in' | 'confirmed',
    /** Who is at the browser, when the caller read it already (the confirmation, to check its CSRF token). */
    known?: Visitor,
  ): Promise<void> {
    const confirmed = how === 'confirmed';
    let visitor = known;
    const opened = await connections.openLink(
      linkId,
      sig,
      async (tenant) => {
        visitor ??= await visitorOf(tenant, req.headers.cookie);
        return visitor.opener;
      },
      confirmed,
    );
    if (opened.kind === 'started' && how === 'after_sign_in') {
      // Back from the sign-in form: its redirect chain may not leave the origin (the sign-in page's CSP
      // `form-action 'self'` also covers redirects), so the person follows a link to the provider.
      res.setHeader('set-cookie', sessionCookie(opened.started));
      writePage(
        res,
        200,
        'Signed in',
        `<p>Signed in as ${shown(visitor?.opener.user?.displayName || visitor?.opener.user?.name || 'the operator')}.</p>
<p><a class="button" href="${escapeHtml(opened.started.redirectUrl)}">Continue to ${shown(opened.serviceName)}</a></p>
<p class="hint">You sign in there with the account to connect, and consent.</p>`,
      );
      return;
    }
    if (opened.kind === 'started') {
      res.writeHead(confirmed ? 303 : 302, {
        ...pageHeaders,
        location: opened.started.redirectUrl,
        'set-cookie': sessionCookie(opened.started),
      });
      res.end();
      return;
    }
    const back = `/connect/${encodeURIComponent(linkId)}?sig=${encodeURIComponent(sig ?? '')}&via=signin`;
    const signIn = `/signin/${encodeURIComponent(opened.link.tenant)}?return=${encodeURIComponent(back)}`;
    if (opened.kind === 'sign_in') {
      res.writeHead(302, { ...pageHeaders, location: signIn });
      res.end();
      return;
    }
    if (opened.kind === 'refused') {
      writePage(
        res,
        403,
        'This connect link is not for you',
        renderRefusal(opened.link, opened.reason, opened.opener, signIn),
      );
      return;
    }
    writePage(
      res,
      200,
      titleOf`Connect ${opened.link.serviceName} for ${opened.link.subject}?`,
      renderConfirmation(opened.link, linkId, sig ?? '', visitor?.csrf?.token ?? ''),
      confirmHeaders,
    );
  }

  return [
    {
      // Fetched by authorization servers (no browser context): public, no secret, cacheable.
      method: 'GET',
      path: clientMetadataDocumentPath,
      checkOrigin: false,
      handle: ({ res }) => {
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'public, max-age=3600',
          'x-content-type-options': 'nosniff',
        });
        res.end(document);
      },
    },
    {
      method: 'GET',
      path: '/connect/:link',
      errorFormat: 'page',
      handle: async ({ req, res, params }) => {
        const url = new URL(req.url ?? '/', 'http://gatehouse.invalid');
        try {
          const how = url.searchParams.get('via') === 'signin' ? 'after_sign_in' : 'visit';
          await answerLink(req, res, params['link'] as string, url.searchParams.get('sig'), how);
        } catch (thrown) {
          writeFailure(res, toGatehouseError(thrown), 'The connect link could not be used');
        }
      },
    },
    {
      method: 'POST',
      path: '/connect/:link',
      errorFormat: 'page',
      bodyLimit: confirmFormLimit,
      handle: async ({ req, res, params, readBody }) => {
        try {
          const form = new URLSearchParams((await readBody()).toString('utf8'));
          const linkId = params['link'] as string;
          const tenant = linkId.slice(0, Math.max(0, linkId.indexOf('.')));
          const visitor = await visitorOf(tenant, req.headers.cookie);
          const { csrf } = visitor;
          const typed = form.get('csrf') ?? '';
          const valid =
            csrf !== undefined &&
            (csrf.kind === 'operator'
              ? sameToken(csrf.token, typed) // the operator session `visitorOf` read, not a second lookup
              : visitors?.users?.checkCsrf(req.headers.cookie, typed) === true);
          if (!valid) {
            writeFailure(
              res,
              {
                code: 'forbidden_origin',
                message: 'The confirmation form expired or came from another page; open the link again',
                details: {},
              },
              'The connect link could not be used',
            );
            return;
          }
          await answerLink(req, res, linkId, form.get('sig'), 'confirmed', visitor);
        } catch (thrown) {
          writeFailure(res, toGatehouseError(thrown), 'The connect link could not be used');
        }
      },
    },
    {
      method: 'GET',
      path: '/oauth/callback',
      errorFormat: 'page',
      handle: async ({ req, res }) => {
        const url = new URL(req.url ?? '/', 'http://gatehouse.invalid');
        const cookies = parseCookies(req.headers.cookie);
        try {
          const done = await connections.completeCallback(url.searchParams, cookies);
          if ('sites' in done) {
            const csrf = randomBytes(24).toString('base64url');
            res.setHeader('set-cookie', [
              sessionCookie(done),
              [
                `${siteCsrfCookie}=${csrf}`,
                'Path=/oauth/callback/site',
                'Max-Age=600',
                'HttpOnly',
                'SameSite=Strict',
                ...secure,
              ].join('; '),
            ]);
            writePage(res, 200, nounOf(done.sites[0]).title, renderSiteChooser(done, csrf), formPageHeaders);
            return;
          }
          writeConnected(res, done);
        } catch (thrown) {
          const error = toGatehouseError(thrown);
          onCallbackFailure?.(error);
          const retry = await connections.retryLink(url.searchParams, cookies).catch(() => undefined);
          writeFailure(res, error, 'The connection could not be completed', retry);
        }
      },
    },
    {
      method: 'POST',
      path: '/oauth/callback/site',
      errorFormat: 'page',
      bodyLimit: siteFormLimit,
      handle: async ({ req, res, readBody }) => {
        const cookies = parseCookies(req.headers.cookie);
        try {
          const form = new URLSearchParams((await readBody()).toString('utf8'));
          if (!sameFormToken(cookies[siteCsrfCookie], form.get('csrf'))) {
            writeFailure(
              res,
              { code: 'forbidden_origin', message: 'The site form expired or came from another page', details: {} },
              'The site could not be chosen',
            );
            return;
          }
          writeConnected(res, await connections.chooseSite(form.get('state'), form.get('site'), cookies));
        } catch (thrown) {
          const error = toGatehouseError(thrown);
          onCallbackFailure?.(error);
          writeFailure(res, error, 'The site could not be chosen');
        }
      },
    },
  ];

  function sessionCookie(started: { readonly cookie: SiteChoice['cookie'] }): string {
    return [
      `${started.cookie.name}=${started.cookie.value}`,
      'Path=/oauth/callback',
      `Max-Age=${started.cookie.maxAgeSeconds}`,
      'HttpOnly',
      'SameSite=Lax',
      ...secure,
    ].join('; ');
  }
}

/**
 * The confirmation posts a form whose answer redirects to the authorization server: no `form-action` (Chromium
 * applies it to the redirect's target too), and `same-origin` so the post carries a real Origin (CP-02).
 */
const confirmHeaders = {
  ...pageHeaders,
  'referrer-policy': 'same-origin',
};

/**
 * A title naming caller- or provider-supplied values (a service's description title, a link's subject): their
 * invisible and bidi characters are marked in the heading as in the body, and as `[U+202E]` in the tab, so an
 * override cannot flip the words the person reads first (CP-04; finding connect_link_confirm_heading_hides_bidi).
 */
function titleOf(words: TemplateStringsArray, ...values: string[]): PageTitle {
  let text = words[0] ?? '';
  let html = escapeHtml(words[0] ?? '');
  values.forEach((value, i) => {
    text +=
      showInvisibles(
        value,
        (visible) => visible,
        (mark) => `[${mark}]`,
      ) + (words[i + 1] ?? '');
    html += shown(value) + escapeHtml(words[i + 1] ?? '');
  });
  return { text, html };
}

/** How the pages name what a chooser offers: Atlassian sites, or Xero organisations. */
function nounOf(site: AccessibleSite | undefined) {
  return site?.kind === 'organisation'
    ? { one: 'organisation', many: 'organisations', legend: 'Organisations', title: 'Choose an organisation' }
    : { one: 'site', many: 'sites', legend: 'Sites', title: 'Choose a site' };
}

/**
 * The confirmation (a subject that is no user's, opened by an owner/admin or the operator): it names the service
 * and the subject, and says whose account serves it. The form posts here (`form-action` is left open: its answer
 * redirects to the authorization server, which Chromium checks against `form-action`).
 */
function renderConfirmation(link: ConnectLinkView, linkId: string, sig: string, csrf: string): string {
  return `<p>This link connects an account at <strong>${shown(link.serviceName)}</strong> for the subject
<code>${shown(link.subject)}</code>${link.subjectName === link.subject ? '' : ` (${shown(link.subjectName)})`}.</p>
<p class="problem">The account you sign in with at the service on the next page serves every call made as
<code>${shown(link.subject)}</code>: every agent and client key with that subject acts with it. Continue only if you
asked for this link for that subject. If someone sent it to you, do not continue.</p>
<form method="post" action="/connect/${escapeHtml(encodeURIComponent(linkId))}" class="card">
<input type="hidden" name="sig" value="${escapeHtml(sig)}"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<button type="submit">Continue to ${shown(link.serviceName)}</button>
</form>
<p class="hint">Nothing is connected and the link is not used until you continue. It works until ${escapeHtml(new Date(link.expiresAt).toISOString())}.</p>`;
}

/** Why the signed-in person may not open this link; the link stays unused for the person it is for. */
function renderRefusal(
  link: ConnectLinkView,
  reason: 'other_user' | 'not_admin',
  opener: LinkOpener,
  signIn: string,
): string {
  const who =
    opener.user === undefined
      ? 'the operator'
      : `${shown(opener.user.displayName || opener.user.name)} (<code>${shown(opener.user.name)}</code>)`;
  const why =
    reason === 'other_user'
      ? `This link connects an account at <strong>${shown(link.serviceName)}</strong> for ${shown(link.subjectName)}, and you are signed in as ${who}. Only that user, signed in, can open it: whoever opens a connect link connects their own account for the link's user.`
      : `This link connects an account at <strong>${shown(link.serviceName)}</strong> for the subject <code>${shown(link.subject)}</code>, which is no user's. Only an owner or admin of tenant ${shown(link.tenant)}, signed in, can open it (you are signed in as ${who}).`;
  return `<p class="problem">${why}</p>
<p>Nothing was connected, and the link was not used. If someone sent it to you, you can ignore it.</p>
<p><a href="${escapeHtml(signIn)}">Sign in as someone else</a></p>
<p>Code: <code>forbidden</code></p>`;
}

function renderSiteChooser(choice: DescribedSiteChoice, csrf: string): string {
  const noun = nounOf(choice.sites[0]);
  const options = choice.sites
    .map(
      (site, i) =>
        `<label class="site"><input type="radio" name="site" value="${escapeHtml(site.id)}"${i === 0 ? ' checked' : ''}> <strong>${shown(site.name)}</strong>${
          site.url === '' ? '' : ` <span class="url">${shown(site.url)}</span>`
        }</label>`,
    )
    .join('\n');
  return `<p>Your account can reach ${choice.sites.length} ${noun.many}. Choose the one ${shown(choice.serviceName)} should use for
${shown(choice.subjectName)}; every call goes to that ${noun.one} until you connect again.</p>
<form method="post" action="/oauth/callback/site" class="card">
<input type="hidden" name="state" value="${escapeHtml(choice.state)}"><input type="hidden" name="csrf" value="${csrf}">
<fieldset><legend>${noun.legend}</legend>
${options}
</fieldset>
<button type="submit">Use this ${noun.one}</button>
</form>
<p class="hint">Nothing is connected until you choose. The choice is open for 10 minutes.</p>`;
}

function writeConnected(res: ServerResponse, done: ConnectedAccount): void {
  const next = done.returnTo === null ? '' : `<p><a href="${escapeHtml(done.returnTo)}">Continue</a></p>`;
  const site =
    done.site === undefined ? '' : ` to the ${nounOf(done.site).one} <strong>${shown(done.site.name)}</strong>`;
  writePage(
    res,
    200,
    'Connected',
    `<p>Connected ${shown(done.serviceName)} for ${shown(done.subjectName)}${site}. You can close this tab.</p>${next}`,
  );
}

/** What a token endpoint's OAuth error (RFC 6749 §5.2, and Slack's words) most likely means, for the person. */
const tokenErrorMeanings: Readonly<Record<string, string>> = {
  invalid_client:
    'The provider refused the client credentials the gateway sent: the clientSecret (or clientId) of the service is wrong, or the secret was rotated at the provider.',
  invalid_grant:
    'The provider refused the code: it expired or was used already (Try again), or the redirect URI differs from the one registered for the app.',
  unauthorized_client:
    "The provider does not let this app use the authorization code grant: check the app's settings at the provider.",
  invalid_scope: "The provider does not accept a scope the link asked for: check the service's scopes.",
  redirect_uri_mismatch:
    'The redirect URI differs from the one registered for the app: register {publicUrl}/oauth/callback exactly.',
  bad_redirect_uri:
    'The redirect URI differs from the one registered for the app: register {publicUrl}/oauth/callback exactly.',
};

/**
 * The failure page: what failed, its stable code, and its cause: the reason word (`details.reason`, e.g.
 * `timeout`), the HTTP status, the provider's OAuth error code and its description (scrubbed and cut by the flow,
 * escaped here), and oauth4webapi's reason for refusing an answer. With `retry`, a link that starts a fresh
 * connect. The message and details of an `internal` error are never shown.
 */
function writeFailure(
  res: ServerResponse,
  error: Pick<GatehouseError, 'code' | 'message' | 'details'>,
  title: string,
  retry?: string,
): void {
  const internal = error.code === 'internal';
  const message = internal ? 'Something went wrong inside the gateway; please try again later.' : error.message;
  const detail = (key: string) => {
    const value = error.details[key];
    return internal || (typeof value !== 'string' && typeof value !== 'number') ? undefined : String(value);
  };
  const rows: string[] = [];
  const reason = detail('reason');
  const status = detail('status');
  if (reason !== undefined || status !== undefined) {
    const parts = [
      reason === undefined ? '' : `<code>${shown(reason)}</code>`,
      status === undefined ? '' : `HTTP ${shown(status)}`,
    ];
    rows.push(`<dt>Cause</dt><dd>${parts.filter((p) => p !== '').join(', ')}</dd>`);
  }
  const providerError = detail('error');
  if (providerError !== undefined) rows.push(`<dt>Provider's error</dt><dd><code>${shown(providerError)}</code></dd>`);
  const likely =
    error.code === 'oauth_token_failed' &&
    providerError !== undefined &&
    Object.hasOwn(tokenErrorMeanings, providerError)
      ? tokenErrorMeanings[providerError]
      : undefined;
  if (likely !== undefined) rows.push(`<dt>Likely cause</dt><dd>${escapeHtml(likely)}</dd>`);
  const description = detail('description');
  if (description !== undefined) rows.push(`<dt>Provider's description</dt><dd>${shown(description)}</dd>`);
  const validation = detail('validation');
  if (validation !== undefined) rows.push(`<dt>What was wrong with the answer</dt><dd>${shown(validation)}</dd>`);
  const again =
    retry === undefined
      ? ''
      : `<p><a href="${escapeHtml(retry)}" class="button">Try again</a> (starts a fresh connect for the same account and service)</p>`;
  writePage(
    res,
    httpStatusOf[error.code],
    title,
    `<p class="problem">${escapeHtml(title)}: ${shown(message)}</p>${rows.length === 0 ? '' : `<dl>${rows.join('')}</dl>`}<p>Code: <code>${escapeHtml(error.code)}</code></p>${again}`,
  );
}

const connectPageStyle =
  'body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}.card{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem 1rem;margin:1rem 0}fieldset{border:0;padding:0;margin:0;min-width:0}legend{font-weight:600;margin-bottom:.4rem}label.site{display:block;padding:.5rem 0;border-bottom:1px solid #eee;overflow-wrap:anywhere}.url{color:#555;font-size:.9rem;display:block;margin-left:1.6rem}button,a.button{font-size:1rem;padding:.5rem 1rem;margin-top:.6rem;display:inline-block}a.button{border:1px solid #767676;border-radius:3px;background:#efefef;color:#000;text-decoration:none}dt{font-weight:600}dd{margin:0 0 .5rem 0;overflow-wrap:anywhere}code{background:#f4f4f4;padding:0 .3rem}.problem{color:#a00000}.hint{color:#555;font-size:.9rem}';

function writePage(
  res: ServerResponse,
  status: number,
  title: string | PageTitle,
  body: string,
  headers: Readonly<Record<string, string>> = pageHeaders,
): void {
  writeHtmlPage(res, status, renderHtmlPage(title, connectPageStyle, body), headers);
}

/** The site chooser's CSRF cookie against its form field: present, of a real token's length, and equal. */
function sameFormToken(cookie: string | undefined, field: string | null): boolean {
  return cookie !== undefined && field !== null && cookie.length >= 16 && sameToken(cookie, field);
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
