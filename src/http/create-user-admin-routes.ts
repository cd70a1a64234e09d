import { z } from 'zod';
import { GatehouseError } from '../core/index.ts';
import type { GatewayUsers } from '../gateway/index.ts';
import { type AdminCaller, type AdminRoute, adminRoleSets, parseAdminBody } from './create-admin-routes.ts';

const apiTokenRequest = z.strictObject({
  name: z.string().describe('What the token is for, unique per user'),
  expiresInDays: z.number().int().min(1).max(366).optional().describe('Days until it stops working (default: never)'),
});

/**
 * Only an owner (or the operator) grants or revokes `owner`: an admin cannot make themselves, or anyone, owner.
 * A user may not change their own roles either (no self-promotion, no locking oneself out by accident).
 */
export function checkRoleChange(caller: AdminCaller, userId: string, role: string): void {
  if (caller.kind === 'operator') return;
  if (caller.userId === userId) {
    throw new GatehouseError('forbidden', 'You cannot change your own roles', { field: 'user' });
  }
  if (role === 'owner' && !caller.roles.includes('owner')) {
    throw new GatehouseError('forbidden', 'Only an owner grants or revokes the owner role', { field: 'role' });
  }
}

/**
 * Only an owner (or the operator) acts on an owner's account: a new invite link sets the owner's password and an API
 * token made for them acts as them (either would let an admin grant itself `owner`, which `checkRoleChange`
 * refuses), and disabling an owner removes one as revoking the role would. `what`: the action, as the refusal says.
 */
export async function checkOwnerAccount(
  caller: AdminCaller,
  users: Pick<GatewayUsers, 'roles'>,
  tenant: string,
  userId: string,
  what: string,
): Promise<void> {
  if (caller.kind === 'operator' || caller.roles.includes('owner')) return;
  if ((await users.roles.rolesOf(tenant, userId)).includes('owner')) {
    throw new GatehouseError('forbidden', `Only an owner ${what} an owner`, { field: 'user' });
  }
}

/** Whether the caller may manage another user's API tokens (owners, admins, the operator), not only their own. */
function managesOthers(caller: AdminCaller): boolean {
  return caller.kind === 'operator' || caller.roles.includes('owner') || caller.roles.includes('admin');
}

/** Admin routes of end users: list (never a hash), create (answers an invite link), disable, new invite link. */
export function createUserAdminRoutes(users: GatewayUsers): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/tenants/:tenant/users',
      summary: "List a tenant's users (name, status, how they sign in; never a password hash or invite)",
      roles: adminRoleSets.configure,
      handle: async ({ params }) => ({ body: { users: await users.listUsers(params['tenant'] as string) } }),
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/users',
      summary: 'Create a local user; answers an invite link (7 days, single use) that sets their password',
      roles: adminRoleSets.configure,
      body: {
        name: { type: 'string', required: true, description: 'Sign-in name, unique in the tenant' },
        displayName: { type: 'string', description: 'Shown on pages (default: the name)' },
      },
      handle: async ({ params, readJson, actor }) => {
        const body = await readJson();
        const name = body['name'];
        const displayName = body['displayName'];
        if (typeof name !== 'string') {
          throw new GatehouseError('invalid_request', 'Expected {"name": string}', { field: 'name' });
        }
        if (displayName !== undefined && typeof displayName !== 'string') {
          throw new GatehouseError('invalid_request', 'displayName must be a string', { field: 'displayName' });
        }
        const created = await users.createUser(
          params['tenant'] as string,
          { name, ...(displayName === undefined ? {} : { displayName }) },
          actor,
        );
        return { status: 201, body: created };
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/users/:user/disable',
      summary: 'Disable a user: every session of theirs ends at once and they cannot sign in',
      roles: adminRoleSets.configure,
      handle: async ({ params, caller, actor }) => {
        const [tenant, user] = [params['tenant'] as string, params['user'] as string];
        await checkOwnerAccount(caller, users, tenant, user, 'disables');
        await users.disableUser(tenant, user, actor);
        return { body: { disabled: true } };
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/users/:user/invite',
      summary: 'A new invite link for a user (sets a new password; the previous link stops working)',
      roles: adminRoleSets.configure,
      handle: async ({ params, caller, actor }) => {
        const [tenant, user] = [params['tenant'] as string, params['user'] as string];
        await checkOwnerAccount(caller, users, tenant, user, 'makes a new invite link for');
        return { status: 201, body: await users.reinvite(tenant, user, actor) };
      },
    },
    {
      method: 'GET',
      path: '/tenants/:tenant/roles',
      summary: "List the tenant's role grants: user, role, when and by whom",
      roles: adminRoleSets.configure,
      handle: async ({ params }) => ({ body: { roles: await users.roles.listRoles(params['tenant'] as string) } }),
    },
    {
      method: 'PUT',
      path: '/tenants/:tenant/users/:user/roles/:role',
      summary: 'Grant a role (owner, admin, approver, member, auditor); only an owner grants owner',
      roles: adminRoleSets.configure,
      handle: async ({ params, caller, actor }) => {
        const [tenant, user, role] = [params['tenant'] as string, params['user'] as string, params['role'] as string];
        checkRoleChange(caller, user, role);
        return { body: await users.roles.grantRole(tenant, user, role, actor) };
      },
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/users/:user/roles/:role',
      summary: 'Revoke a role; only an owner revokes owner',
      roles: adminRoleSets.configure,
      handle: async ({ params, caller, actor }) => {
        const [tenant, user, role] = [params['tenant'] as string, params['user'] as string, params['role'] as string];
        checkRoleChange(caller, user, role);
        await users.roles.revokeRole(tenant, user, role, actor);
        return { body: { revoked: true } };
      },
    },
    {
      method: 'GET',
      path: '/tenants/:tenant/api-tokens',
      summary: 'List personal API tokens (prefixes only; never a token); a user without admin sees their own',
      roles: adminRoleSets.anyRole,
      handle: async ({ params, caller }) => ({
        body: {
          tokens: await users.roles.listApiTokens(
            params['tenant'] as string,
            managesOthers(caller) || caller.kind === 'operator' ? undefined : caller.userId,
          ),
        },
      }),
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/users/:user/api-tokens',
      summary: 'Create a personal API token for a user (shown once); anyone may create their own',
      roles: adminRoleSets.anyRole,
      requestSchema: apiTokenRequest,
      handle: async ({ params, readJson, caller, actor }) => {
        const user = params['user'] as string;
        if (!managesOthers(caller) && caller.kind === 'user' && caller.userId !== user) {
          throw new GatehouseError('forbidden', 'You can create API tokens for yourself only', { field: 'user' });
        }
        await checkOwnerAccount(caller, users, params['tenant'] as string, user, 'creates API tokens for');
        const { name, expiresInDays } = parseAdminBody(apiTokenRequest, await readJson());
        const created = await users.roles.createApiToken(
          params['tenant'] as string,
          user,
          { name, ...(expiresInDays === undefined ? {} : { expiresInDays }) },
          actor,
        );
        return { status: 201, body: created };
      },
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/api-tokens/:token',
      summary: 'Revoke a personal API token (at once, on every process); anyone may revoke their own',
      roles: adminRoleSets.anyRole,
      handle: async ({ params, caller, actor }) => {
        const tenant = params['tenant'] as string;
        const id = params['token'] as string;
        if (!managesOthers(caller) && caller.kind === 'user') {
          const own = await users.roles.listApiTokens(tenant, caller.userId);
          if (!own.some((t) => t.id === id)) throw new GatehouseError('not_found', `No active API token ${id}`);
        }
        await users.roles.revokeApiToken(tenant, id, actor);
        return { body: { revoked: true } };
      },
    },
  ];
}
