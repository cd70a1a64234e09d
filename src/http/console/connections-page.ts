import { escapeHtml, GatehouseError } from '../../core/index.ts';
import type { ConnectionSummary } from '../../gateway/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import { badge, csrfField, emptyState, postButton, table, timeOf } from './console-html.ts';
import type { ConsolePage, ConsolePageContext, ConsolePageResult } from './console-page.ts';
import { consoleHref, shown } from './render-console-page.ts';
import { runningTenantOf } from './tenant-document.ts';

/**
 * Connections (owners, admins, members): the OAuth accounts connected at the tenant's services, per user and
 * service, with status, granted scopes, access expiry, last refresh and refresh failures; connect, reconnect and
 * revoke. A member sees and manages their own connections only (subject = their user id), as in the admin API.
 * Connecting answers a signed, single-use link to open (never a redirect from the form: the consent happens at
 * the service, in the browser of the person whose account it is).
 */
export const connectionsPage: ConsolePage = {
  section: 'connections',
  path: '/connections',
  roles: adminRoleSets.connections,
  get: (context) => renderConnections(context),
  async post(context) {
    const connections = connectionsOf(context);
    const own = ownSubjectOf(context);
    const field = (name: string) => (context.form.get(name) ?? '').trim();
    const action = context.form.get('action');
    if (action === 'revoke') {
      const found = (await connections.list(context.tenant)).find((c) => c.id === field('connection'));
      if (found === undefined || (own !== undefined && found.subject !== own)) {
        throw new GatehouseError('not_found', `No connection ${field('connection')}`, { field: 'connection' });
      }
      const { revoked } = await connections.disconnect(context.tenant, found.id, context.actor);
      const how = revoked ? 'its tokens were revoked at the service' : 'the service does not support revocation';
      return renderConnections(context, {
        kind: 'ok',
        text: `Disconnected ${found.service} for ${found.subject} (${how}).`,
      });
    }
    if (action === 'connect') {
      const subject = own ?? field('subject');
      if (subject === '')
        throw new GatehouseError('invalid_request', 'subject: whose account to connect', { field: 'subject' });
      const service = field('service');
      const link = await connections.createLink(context.tenant, { service, subject });
      return renderConnections(
        context,
        { kind: 'ok', text: `A connect link for ${service} (${subject}) is ready.` },
        {
          url: link.authorizeUrl,
          expiresAt: link.expiresAt,
          opener: subject === context.user.id ? 'self' : subject.startsWith('usr_') ? 'user' : 'admin',
        },
      );
    }
    throw new GatehouseError('invalid_request', 'action: expected connect or revoke', { field: 'action' });
  },
};

function connectionsOf(context: ConsolePageContext) {
  const connections = context.deps.gateway.connections;
  if (connections === undefined) throw new GatehouseError('not_found', 'No service of this gateway uses OAuth');
  return connections;
}

/** A member (without owner or admin) manages only their own connections. */
function ownSubjectOf(context: ConsolePageContext): string | undefined {
  return context.roles.includes('owner') || context.roles.includes('admin') ? undefined : context.user.id;
}

/** Who may open a link the console made, as `decideLinkOpener` rules it (docs/security.md, connect links). */
const whoOpens = {
  self: '',
  user: 'Send it to that user: it opens only in their browser, signed in to the gateway, and they consent at the service.',
  admin:
    "The subject is no user's, so only an owner or admin of this tenant can open this link (you can): open it yourself and confirm the subject; the account you consent with serves every call made as it.",
} as const;

async function renderConnections(
  context: ConsolePageContext,
  notice?: { kind: 'ok' | 'error'; text: string },
  link?: { url: string; expiresAt: string; opener: keyof typeof whoOpens },
): Promise<ConsolePageResult> {
  const { tenant, csrfToken } = context;
  const own = ownSubjectOf(context);
  const connections = context.deps.gateway.connections;
  const all = connections === undefined ? [] : await connections.list(tenant);
  const list = own === undefined ? all : all.filter((c) => c.subject === own);
  // A user's connection is named by the person (their id beside it), not by the `usr_...` id alone.
  const userNames = new Map(
    (await context.deps.gateway.users.listUsers(tenant)).map((u) => [u.id, u.displayName || u.name]),
  );
  const subjectOf = (subject: string) => {
    const name = userNames.get(subject);
    return name === undefined ? shown(subject) : `${shown(name)} <small>${escapeHtml(subject)}</small>`;
  };
  const services = (await runningTenantOf(context))?.services ?? [];
  const action = consoleHref(tenant, 'connections');
  const now = context.deps.now();
  const form = (fields: Record<string, string>, label: string, css: string, confirm?: string) =>
    postButton(action, csrfToken, fields, label, { css, ...(confirm === undefined ? {} : { confirm }) });
  const linkBox =
    link === undefined
      ? ''
      : `<div class="secret" role="status"><strong>Connect link</strong> <a id="connect-link" href="${escapeHtml(link.url)}" rel="noreferrer">${link.opener === 'self' ? 'Open it to connect your account' : escapeHtml(link.url)}</a><button type="button" class="secondary" data-copy="connect-link">Copy</button><small>Single use, until ${escapeHtml(link.expiresAt)}. ${whoOpens[link.opener]}</small></div>`;
  const rows = list.map((c) => {
    const reconnect = form(
      { action: 'connect', service: c.service, subject: c.subject },
      `Reconnect<span class="visually-hidden"> ${escapeHtml(c.service)} for ${escapeHtml(c.subject)}</span>`,
      'secondary',
    );
    const revoke = form(
      { action: 'revoke', connection: c.id },
      `Revoke<span class="visually-hidden"> ${escapeHtml(c.service)} for ${escapeHtml(c.subject)}</span>`,
      'danger',
      `Disconnect ${c.service} for ${c.subject}?`,
    );
    return [
      shown(c.service),
      subjectOf(c.subject),
      `${badge(c.status)}${attentionOf(c, now) === undefined ? '' : ` <small>${escapeHtml(attentionOf(c, now) as string)}</small>`}`,
      shown(c.scopes.join(' ') || '-'),
      timeOf(c.accessExpiresAt),
      timeOf(c.updatedAt),
      c.refreshFailures === 0 ? '0' : `<strong>${c.refreshFailures}</strong>`,
      lastErrorOf(c),
      `<div class="actions">${reconnect}${revoke}</div>`,
    ];
  });
  const listHtml =
    list.length === 0
      ? emptyState(
          own === undefined
            ? 'No account is connected yet. Connect one below, or let an agent ask: a call that needs a connection answers a link to connect.'
            : 'You have not connected an account yet. Connect one below; your agents then call the service as you.',
        )
      : table(
          [
            'Service',
            'User',
            'Status',
            'Scopes granted',
            'Access expires (UTC)',
            'Last refresh (UTC)',
            'Failed refreshes',
            'Last error',
            '',
          ],
          rows,
        );
  const subjectField =
    own === undefined
      ? '<label>For (subject) <input name="subject" required maxlength="200" autocomplete="off" placeholder="a user id, or shared"></label>'
      : '';
  const connectForm =
    services.length === 0
      ? emptyState('This tenant has no service yet: add one (Services) before connecting an account.')
      : `<form method="post" action="${escapeHtml(action)}" class="stack">${csrfField(csrfToken)}<input type="hidden" name="action" value="connect">
<label>Service <select name="service">${services.map((s) => `<option value="${escapeHtml(s)}">${shown(s)}</option>`).join('')}</select></label>${subjectField}
<button type="submit">Create connect link</button></form>`;
  return {
    kind: 'page',
    title: 'Connections',
    ...(notice ? { notice } : {}),
    body: `${linkBox}${listHtml}<h2>Connect an account</h2>${connectForm}`,
  };
}

/** The last failed refresh: its code, what it means and when; `-` since the last connect or good refresh. */
function lastErrorOf(connection: ConnectionSummary): string {
  const error = connection.lastError;
  if (error === null) return '-';
  return `<span class="last-error"><code>${escapeHtml(error.code)}</code> ${shown(error.message)} <small>${timeOf(error.at)}</small></span>`;
}

/**
 * Why a connection needs a person, or undefined: it must be connected again (`needs_reauth`), its access expired
 * with no refresh token to renew it, or its refreshes keep failing. The overview lists the same ones.
 */
export function attentionOf(connection: ConnectionSummary, now: number): string | undefined {
  if (connection.status === 'needs_reauth') return 'connect again: the service refused the refresh';
  if (connection.status !== 'active') return undefined;
  const expires = connection.accessExpiresAt === null ? undefined : Date.parse(connection.accessExpiresAt);
  if (expires !== undefined && expires <= now && !connection.hasRefreshToken) return 'access expired, no refresh token';
  if (connection.refreshFailures > 0) return `${connection.refreshFailures} failed refreshes in a row`;
  return undefined;
}
