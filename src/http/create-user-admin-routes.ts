import { GatehouseError } from '../core/index.ts';
import type { GatewayUsers } from '../gateway/index.ts';
import type { AdminRoute } from './create-admin-routes.ts';

/** Admin routes of end users: list (never a hash), create (answers an invite link), disable, new invite link. */
export function createUserAdminRoutes(users: GatewayUsers): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/tenants/:tenant/users',
      summary: "List a tenant's users (name, status, how they sign in; never a password hash or invite)",
      handle: async ({ params }) => ({ body: { users: await users.listUsers(params['tenant'] as string) } }),
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/users',
      summary: 'Create a local user; answers an invite link (7 days, single use) that sets their password',
      body: {
        name: { type: 'string', required: true, description: 'Sign-in name, unique in the tenant' },
        displayName: { type: 'string', description: 'Shown on pages (default: the name)' },
      },
      handle: async ({ params, readJson }) => {
        const body = await readJson();
        const name = body['name'];
        const displayName = body['displayName'];
        if (typeof name !== 'string') {
          throw new GatehouseError('invalid_request', 'Expected {"name": string}', { field: 'name' });
        }
        if (displayName !== undefined && typeof displayName !== 'string') {
          throw new GatehouseError('invalid_request', 'displayName must be a string', { field: 'displayName' });
        }
        const created = await users.createUser(params['tenant'] as string, {
          name,
          ...(displayName === undefined ? {} : { displayName }),
        });
        return { status: 201, body: created };
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/users/:user/disable',
      summary: 'Disable a user: every session of theirs ends at once and they cannot sign in',
      handle: async ({ params }) => {
        await users.disableUser(params['tenant'] as string, params['user'] as string);
        return { body: { disabled: true } };
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/users/:user/invite',
      summary: 'A new invite link for a user (sets a new password; the previous link stops working)',
      handle: async ({ params }) => ({
        status: 201,
        body: await users.reinvite(params['tenant'] as string, params['user'] as string),
      }),
    },
  ];
}
