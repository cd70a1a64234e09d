import { escapeHtml } from '../../core/index.ts';
import { shown } from '../html-page.ts';
import { csrfField } from './console-html.ts';

/** The console's sections, in the order of its navigation. */
export const consoleSections = [
  'overview',
  'services',
  'toolsets',
  'connections',
  'approvals',
  'audit',
  'users',
  'alerts',
  'tokens',
] as const;

export type ConsoleSection = (typeof consoleSections)[number];

/** What the navigation calls each section. */
export const consoleSectionLabels: Readonly<Record<ConsoleSection, string>> = {
  overview: 'Overview',
  services: 'Services',
  toolsets: 'Toolsets',
  connections: 'Connections',
  approvals: 'Approvals',
  audit: 'Audit',
  users: 'Users and keys',
  alerts: 'Alerts',
  tokens: 'API tokens',
};

/** Everything one console page shows around its own content. */
export interface ConsolePageView {
  /** The page's heading and the document title (shown with invisible characters marked). */
  readonly title: string;
  /** The section the navigation marks as current. */
  readonly section: ConsoleSection;
  readonly tenant: string;
  /** The signed-in user as the header shows them. */
  readonly user: { readonly name: string; readonly roles: readonly string[] };
  /** The session's CSRF token (for the sign-out form in the header). */
  readonly csrfToken: string;
  /** The page's own content: already-escaped HTML. */
  readonly body: string;
  /** A line above the content after an action: what was done, or why not. */
  readonly notice?: { readonly kind: 'ok' | 'error'; readonly text: string };
  /** Sections the navigation links to (those the user's roles open); default all. */
  readonly nav?: readonly ConsoleSection[];
  /** The operator signed in with the admin token, not a user: the header says so and signs out the operator. */
  readonly operator?: boolean;
}

/** The path of a console section of a tenant (`overview` is the tenant's console root). */
export function consoleHref(tenant: string, section: ConsoleSection, rest = ''): string {
  const base = `/console/${encodeURIComponent(tenant)}`;
  return section === 'overview' ? `${base}${rest}` : `${base}/${section}${rest}`;
}

/**
 * One whole console page: a skip link, the header (tenant, who is signed in, sign out), the navigation with the
 * current section marked (`aria-current`), the notice and the page's body. Styles and the one small script come
 * from `/console/assets/` (the CSP allows nothing inline and nothing from elsewhere). The operator (signed in with
 * the admin token) is shown as `operator`, with a link to every tenant and their own sign-out.
 */
export function renderConsolePage(view: ConsolePageView): string {
  const nav = (view.nav ?? consoleSections)
    .map((section) => {
      const current = section === view.section ? ' aria-current="page"' : '';
      return `<li><a href="${escapeHtml(consoleHref(view.tenant, section))}"${current}>${consoleSectionLabels[section]}</a></li>`;
    })
    .join('');
  const notice =
    view.notice === undefined
      ? ''
      : `<p class="notice notice-${view.notice.kind}" role="${view.notice.kind === 'error' ? 'alert' : 'status'}">${shown(view.notice.text)}</p>`;
  const roles = view.user.roles.length === 0 ? 'no role' : view.user.roles.join(', ');
  const who =
    view.operator === true
      ? operatorHeader(view.csrfToken)
      : `<span class="who">${shown(view.user.name)} <small>(${escapeHtml(roles)})</small></span>
<form method="post" action="/signout" class="signout">${csrfField(view.csrfToken)}<input type="hidden" name="tenant" value="${escapeHtml(view.tenant)}"><button type="submit">Sign out</button></form>`;
  return renderConsoleFrame({
    title: `${shown(view.title)} · ${shown(view.tenant)}`,
    place: shown(view.tenant),
    who,
    nav,
    main: `<h1>${shown(view.title)}</h1>${notice}${view.body}`,
  });
}

/** The header's right side for the operator: who (owner of every tenant), the way to every tenant, sign out. */
export function operatorHeader(csrfToken: string): string {
  return `<span class="who"><a href="/console">All tenants</a> operator <small>(owner of every tenant)</small></span>
<form method="post" action="/operator/signout" class="signout">${csrfField(csrfToken)}<button type="submit">Sign out</button></form>`;
}

/**
 * The document around every console page, tenant or operator: `title` (HTML, before ` · Gatehouse console`), the
 * header's `place` and `who` (HTML), the navigation's items (HTML `<li>`s) and the main content (HTML).
 */
export function renderConsoleFrame(frame: {
  readonly title: string;
  readonly place: string;
  readonly who: string;
  readonly nav: string;
  readonly main: string;
}): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · Gatehouse console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<link rel="icon" href="data:,">
<script src="/console/assets/console.js" defer></script>
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><span class="brand">Gatehouse</span><span class="tenant">${frame.place}</span>
${frame.who}</header>
<nav aria-label="Console"><ul>${frame.nav}</ul></nav>
<main id="main" tabindex="-1">${frame.main}</main>
</body></html>`;
}

/** A caller-supplied value for a console page, as on every page of the gateway (`html-page.ts`). */
export { shown };
