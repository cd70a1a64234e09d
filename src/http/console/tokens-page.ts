import { escapeHtml, GatehouseError } from '../../core/index.ts';
import type { ApiTokenSummary } from '../../users/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import { badge, csrfField, emptyState, postButton, shownOnce, table, timeOf } from './console-html.ts';
import type { ConsolePage, ConsolePageContext, ConsolePageResult } from './console-page.ts';
import { consoleHref, shown } from './render-console-page.ts';

/**
 * API tokens (every role): the signed-in user's own personal API tokens for the admin API (`Bearer
 * gatehouse_pat_...`): list them (name, prefix, created, expiry, state), create one (shown once on the answering
 * page, only its hash is stored) and revoke one. The same use cases, rules and audit records
 * (`api_token_created`, `api_token_revoked`) as the admin API's `/api-tokens` routes; tokens of other users are
 * neither listed nor revocable here, whatever the roles (an admin manages those through the admin API).
 */
export const tokensPage: ConsolePage = {
  section: 'tokens',
  path: '/tokens',
  roles: adminRoleSets.anyRole,
  personal: true,
  get: (context) => render(context),
  async post(context) {
    const { form, tenant, actor, user } = context;
    const roles = context.deps.gateway.users.roles;
    switch (form.get('action')) {
      case 'create': {
        const name = (form.get('name') ?? '').trim();
        const days = (form.get('expiresInDays') ?? '').trim();
        const expiresInDays = days === '' ? undefined : Number(days);
        const created = await roles.createApiToken(
          tenant,
          user.id,
          { name, ...(expiresInDays === undefined ? {} : { expiresInDays }) },
          actor,
        );
        return render(
          context,
          { kind: 'ok', text: `Created the API token ${created.name}.` },
          shownOnce(
            `API token ${created.name}`,
            created.token,
            'Copy it now: it is not shown again (only its hash is stored). Scripts send it as Authorization: Bearer <token> to /api/v1, with your roles.',
          ),
        );
      }
      case 'revoke': {
        const id = (form.get('token') ?? '').trim();
        // Only the user's own tokens, as the admin API lets a user without owner/admin revoke.
        const own = await roles.listApiTokens(tenant, user.id);
        if (!own.some((t) => t.id === id && t.revokedAt === null)) {
          throw new GatehouseError('not_found', `No active API token ${id} of yours`, { field: 'token' });
        }
        await roles.revokeApiToken(tenant, id, actor);
        return {
          kind: 'redirect',
          location: `${consoleHref(tenant, 'tokens')}?revoked=${encodeURIComponent(id)}`,
        };
      }
      default:
        throw new GatehouseError('invalid_request', 'action: not an action of this page', { field: 'action' });
    }
  },
};

async function render(
  context: ConsolePageContext,
  notice?: { kind: 'ok' | 'error'; text: string },
  secret = '',
): Promise<ConsolePageResult> {
  const { tenant, csrfToken } = context;
  const tokens = await context.deps.gateway.users.roles.listApiTokens(tenant, context.user.id);
  const action = consoleHref(tenant, 'tokens');
  const revoked = tokens.find((t) => t.id === context.query.get('revoked'));
  const shownNotice =
    notice ??
    (revoked === undefined
      ? undefined
      : { kind: 'ok' as const, text: `API token ${revoked.name} revoked: it works nowhere now.` });
  return {
    kind: 'page',
    title: 'API tokens',
    ...(shownNotice ? { notice: shownNotice } : {}),
    body: `${secret}<p>Personal API tokens let your scripts call the admin API (<code>/api/v1</code>) as you, with your roles in ${shown(tenant)}. They are yours alone: nobody else sees them here. <em>Last used</em> is when a token last signed a request in, to about a minute.</p>
${tokensTable(tokens, context.deps.now(), (id, name) => postButton(action, csrfToken, { action: 'revoke', token: id }, `Revoke<span class="visually-hidden"> ${escapeHtml(name)}</span>`, { css: 'danger', confirm: `Revoke the API token ${name}? Scripts using it stop working at once.` }))}
<h2>Create a token</h2>
<form method="post" action="${escapeHtml(action)}" class="stack">${csrfField(csrfToken)}<input type="hidden" name="action" value="create">
<label>Token name <input name="name" required maxlength="100" pattern="[A-Za-z0-9 ._\\-]+" autocomplete="off" placeholder="deploy script"><small>Letters, digits, spaces and . _ -; one name per token.</small></label>
<label>Expires after (days) <input name="expiresInDays" type="number" min="1" max="366" step="1" placeholder="never"><small>1 to 366; empty: it works until revoked.</small></label>
<button type="submit">Create token</button></form>`,
  };
}

function tokensTable(
  tokens: readonly ApiTokenSummary[],
  now: number,
  revoke: (id: string, name: string) => string,
): string {
  if (tokens.length === 0) {
    return emptyState('No API token yet. Create one below for a script; it is shown once, so copy it then.');
  }
  return table(
    ['Name', 'Prefix', 'Created (UTC)', 'Expires (UTC)', 'Last used (UTC)', 'State'],
    tokens.map((token) => {
      const expired = token.expiresAt !== null && Date.parse(token.expiresAt) <= now;
      const state =
        token.revokedAt !== null
          ? `${badge('revoked')} ${timeOf(token.revokedAt)}`
          : expired
            ? badge('expired')
            : `${badge('active')} ${revoke(token.id, token.name)}`;
      return [
        shown(token.name),
        `<code>${escapeHtml(token.prefix)}…</code>`,
        timeOf(token.createdAt),
        token.expiresAt === null ? 'never' : timeOf(token.expiresAt),
        token.lastUsedAt === null ? 'never' : timeOf(token.lastUsedAt),
        state,
      ];
    }),
  );
}
