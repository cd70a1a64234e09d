import { escapeHtml, GatehouseError } from '../../core/index.ts';
import type { ClientKeySummary, UserSummary } from '../../gateway/index.ts';
import { type RoleGrant, tenantRolesNarrowestFirst } from '../../users/index.ts';
import { type AdminCaller, adminRoleSets } from '../create-admin-routes.ts';
import { checkOwnerAccount, checkRoleChange } from '../create-user-admin-routes.ts';
import { badge, csrfField, emptyState, postButton, shownOnce, table, timeOf } from './console-html.ts';
import type { ConsolePage, ConsolePageContext, ConsolePageResult } from './console-page.ts';
import { consoleHref, shown } from './render-console-page.ts';
import { runningTenantOf } from './tenant-document.ts';

/** A secret made by an action, shown once on the page that answers it (never stored, never in a URL). */
interface ShownOnce {
  readonly label: string;
  readonly value: string;
  readonly hint: string;
}

/**
 * Users and keys (roles that configure the tenant): invite a user (an invite link, shown once), grant and revoke
 * roles (only an owner touches `owner`; nobody changes their own), disable a user (their sessions end at once),
 * a new invite link; client keys of agents: create one (the key is shown once; only its hash is stored) and
 * revoke one. The same rules and audit records as the admin API.
 */
export const usersPage: ConsolePage = {
  section: 'users',
  path: '/users',
  roles: adminRoleSets.configure,
  get: (context) => renderUsers(context),
  async post(context) {
    const { form, tenant, actor } = context;
    const users = context.deps.gateway.users;
    const admin = context.deps.gateway.admin;
    const field = (name: string) => (form.get(name) ?? '').trim();
    switch (form.get('action')) {
      case 'invite': {
        const displayName = field('displayName');
        const created = await users.createUser(
          tenant,
          { name: field('name'), ...(displayName === '' ? {} : { displayName }) },
          actor,
        );
        return renderUsers(
          context,
          { kind: 'ok', text: `Invited ${created.user.name}.` },
          {
            label: `Invite link for ${created.user.name}`,
            value: created.inviteUrl,
            hint: `Send it to them: it sets their password, works once and expires ${created.inviteExpiresAt}. It is not shown again.`,
          },
        );
      }
      case 'reinvite': {
        await checkOwnerAccount(callerOf(context), users, tenant, field('user'), 'makes a new invite link for');
        const created = await users.reinvite(tenant, field('user'), actor);
        return renderUsers(
          context,
          { kind: 'ok', text: `New invite link for ${created.user.name}; the previous one no longer works.` },
          {
            label: `Invite link for ${created.user.name}`,
            value: created.inviteUrl,
            hint: `Works once and expires ${created.inviteExpiresAt}. It is not shown again.`,
          },
        );
      }
      case 'disable': {
        if (field('user') === context.user.id) {
          throw new GatehouseError('forbidden', 'You cannot disable yourself', { field: 'user' });
        }
        await checkOwnerAccount(callerOf(context), users, tenant, field('user'), 'disables');
        await users.disableUser(tenant, field('user'), actor);
        return renderUsers(context, {
          kind: 'ok',
          text: 'User disabled: their sessions ended and they can no longer sign in.',
        });
      }
      case 'grant':
      case 'revoke': {
        const user = field('user');
        const role = field('role');
        checkRoleChange(callerOf(context), user, role);
        if (form.get('action') === 'grant') await users.roles.grantRole(tenant, user, role, actor);
        else await users.roles.revokeRole(tenant, user, role, actor);
        const verb = form.get('action') === 'grant' ? 'Granted' : 'Revoked';
        return renderUsers(context, { kind: 'ok', text: `${verb} the role ${role}.` });
      }
      case 'create-key': {
        const created = await admin.createClientKey(
          tenant,
          { name: field('name'), toolsets: form.getAll('toolsets'), subject: field('subject') },
          actor,
        );
        return renderUsers(
          context,
          { kind: 'ok', text: `Created the client key ${created.name}.` },
          {
            label: `Client key ${created.name}`,
            value: created.key,
            hint: 'Copy it now into the MCP client (Authorization: Bearer <key>). Only its hash is stored: it is not shown again.',
          },
        );
      }
      case 'revoke-key': {
        await admin.revokeClientKey(tenant, field('key'), actor);
        return renderUsers(context, {
          kind: 'ok',
          text: 'Client key revoked: every process refuses it within the key cache window.',
        });
      }
      default:
        throw new GatehouseError('invalid_request', 'action: not an action of this page', { field: 'action' });
    }
  },
};

function callerOf(context: ConsolePageContext): AdminCaller {
  if (context.operator) return { kind: 'operator' };
  return {
    kind: 'user',
    tenant: context.tenant,
    userId: context.user.id,
    name: context.user.name,
    roles: context.roles,
    via: 'session',
  };
}

async function renderUsers(
  context: ConsolePageContext,
  notice?: { kind: 'ok' | 'error'; text: string },
  secret?: ShownOnce,
): Promise<ConsolePageResult> {
  const { tenant, csrfToken } = context;
  const { users, admin } = context.deps.gateway;
  const [list, grants, keys, running] = await Promise.all([
    users.listUsers(tenant),
    users.roles.listRoles(tenant),
    admin.listClientKeys(tenant),
    runningTenantOf(context),
  ]);
  const toolsets = running?.toolsets.map((t) => t.id) ?? [];
  const action = consoleHref(tenant, 'users');
  const post = (fields: Record<string, string>, label: string, css = '', confirm?: string) =>
    postButton(action, csrfToken, fields, label, { css, ...(confirm === undefined ? {} : { confirm }) });
  const secretBox = secret === undefined ? '' : shownOnce(secret.label, secret.value, secret.hint);
  return {
    kind: 'page',
    title: 'Users and keys',
    ...(notice ? { notice } : {}),
    body: `${secretBox}<h2>Users</h2>${usersTable(list, grants, context, post)}
<h3>Invite a user</h3>
<form method="post" action="${escapeHtml(action)}" class="stack">${csrfField(csrfToken)}<input type="hidden" name="action" value="invite">
<label>Sign-in name <input name="name" required maxlength="100" autocomplete="off"></label>
<label>Display name <input name="displayName" maxlength="100" autocomplete="off"></label>
<button type="submit">Invite</button></form>
<h2>Client keys</h2>${keysTable(keys, post)}
<h3>Create a client key</h3>${createKeyForm(action, csrfToken, toolsets, list)}`,
  };
}

type PostButton = (fields: Record<string, string>, label: string, css?: string, confirm?: string) => string;

function usersTable(
  list: readonly UserSummary[],
  grants: readonly RoleGrant[],
  context: ConsolePageContext,
  post: PostButton,
): string {
  if (list.length === 0) {
    return `${emptyState('No user yet. Invite the first one below: they get a link to set a password, then grant them a role.')}`;
  }
  const rows = list.map((user) => {
    const held = grants.filter((g) => g.userId === user.id).map((g) => g.role);
    const self = user.id === context.user.id;
    const roleCells = held
      .map((role) =>
        self
          ? badge(role)
          : `${badge(role)} ${post({ action: 'revoke', user: user.id, role }, `<span aria-hidden="true">×</span><span class="visually-hidden">Revoke ${escapeHtml(role)} from ${escapeHtml(user.name)}</span>`, 'secondary', `Revoke ${role} from ${user.name}?`)}`,
      )
      .join(' ');
    // Least privilege first: the role a Grant button gives when nobody picks one is the narrowest.
    const grantable = tenantRolesNarrowestFirst.filter((r) => !held.includes(r));
    const grant =
      self || grantable.length === 0
        ? ''
        : `<form method="post" action="${escapeHtml(consoleHref(context.tenant, 'users'))}" class="inline">${csrfField(context.csrfToken)}<input type="hidden" name="action" value="grant"><input type="hidden" name="user" value="${escapeHtml(user.id)}"><label class="visually-hidden" for="grant-${escapeHtml(user.id)}">Role to grant ${escapeHtml(user.name)}</label><select id="grant-${escapeHtml(user.id)}" name="role">${grantable.map((r) => `<option>${r}</option>`).join('')}</select> <button type="submit" class="secondary">Grant</button></form>`;
    // Only an owner acts on an owner's account (`checkOwnerAccount`): no buttons that would be refused.
    const ownerOnly = held.includes('owner') && !context.operator && !context.roles.includes('owner');
    const actions = self
      ? '<small>you</small>'
      : ownerOnly
        ? '<small>owner: only an owner changes this account</small>'
        : `<div class="actions">${post({ action: 'reinvite', user: user.id }, 'New invite link', 'secondary')}${user.status === 'active' ? post({ action: 'disable', user: user.id }, 'Disable', 'danger', `Disable ${user.name}? Their sessions end at once.`) : ''}</div>`;
    return [
      `<code>${shown(user.name)}</code>`,
      shown(user.displayName),
      `${badge(user.status)}${user.invitePending ? ' <small>invite pending</small>' : ''}`,
      escapeHtml(user.signIn.join(', ') || '-'),
      `${roleCells || '<small>none</small>'} ${grant}`,
      actions,
    ];
  });
  return table(['Name', 'Display name', 'Status', 'Signs in with', 'Roles', ''], rows);
}

function keysTable(keys: readonly ClientKeySummary[], post: PostButton): string {
  if (keys.length === 0) {
    return emptyState(
      "No client key yet. Create one below and paste it into an MCP client to call this tenant's toolsets.",
    );
  }
  return table(
    ['Name', 'Prefix', 'Toolsets', 'Acts for', 'Created (UTC)', 'Status'],
    keys.map((key) => [
      shown(key.name),
      `<code>${escapeHtml(key.prefix)}…</code>`,
      shown(key.toolsets.join(', ')),
      shown(key.subject),
      timeOf(key.createdAt),
      key.revokedAt === null
        ? `${badge('active')} ${post({ action: 'revoke-key', key: key.id }, `Revoke<span class="visually-hidden"> ${escapeHtml(key.name)}</span>`, 'danger', `Revoke the client key ${key.name}? Agents using it stop working.`)}`
        : `${badge('revoked')} ${timeOf(key.revokedAt)}`,
    ]),
  );
}

function createKeyForm(
  action: string,
  csrf: string,
  toolsets: readonly string[],
  users: readonly UserSummary[],
): string {
  if (toolsets.length === 0) {
    return emptyState('This tenant has no toolset yet: add one (Toolsets) before creating a key for it.');
  }
  const boxes = toolsets
    .map(
      (id) =>
        `<label class="check"><input type="checkbox" name="toolsets" value="${escapeHtml(id)}"> ${shown(id)}</label>`,
    )
    .join('');
  const subjects = ['shared', ...users.map((u) => u.id)].map((id) => `<option value="${escapeHtml(id)}">`).join('');
  return `<form method="post" action="${escapeHtml(action)}" class="stack">${csrfField(csrf)}<input type="hidden" name="action" value="create-key">
<label>Key name <input name="name" required maxlength="100" autocomplete="off"></label>
<fieldset><legend>Toolsets</legend>${boxes}</fieldset>
<label>Acts for (subject) <input name="subject" required maxlength="200" list="subjects" autocomplete="off" placeholder="a user id, or shared"></label><datalist id="subjects">${subjects}</datalist>
<button type="submit">Create key</button></form>`;
}
