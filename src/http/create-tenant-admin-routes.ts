import type { GatewayAdmin } from '../gateway/index.ts';
import { type AdminRoute, adminRoleSets } from './create-admin-routes.ts';

/** Admin routes for tenants and their client keys. */
export function createTenantAdminRoutes(admin: GatewayAdmin): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/tenants',
      summary: 'List tenants with their services and toolset endpoints (a user sees their own tenant)',
      roles: adminRoleSets.anyRole,
      handle: async ({ caller }) => {
        const tenants = await admin.listTenants();
        return {
          body: { tenants: caller.kind === 'operator' ? tenants : tenants.filter((t) => t.id === caller.tenant) },
        };
      },
    },
    {
      method: 'GET',
      path: '/tenants/:tenant/keys',
      summary: "List a tenant's client keys (prefixes only)",
      roles: adminRoleSets.configure,
      handle: async ({ params }) => ({ body: { keys: await admin.listClientKeys(params['tenant'] as string) } }),
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/keys/:key',
      summary: 'Revoke a client key',
      roles: adminRoleSets.configure,
      handle: async ({ params }) => {
        await admin.revokeClientKey(params['tenant'] as string, params['key'] as string);
        return { status: 200, body: { revoked: true } };
      },
    },
  ];
}
