import type { GatewayAdmin } from '../gateway/index.ts';
import type { AdminRoute } from './create-admin-routes.ts';

/** Admin routes for tenants and their client keys. */
export function createTenantAdminRoutes(admin: GatewayAdmin): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/tenants',
      summary: 'List tenants with their services and toolset endpoints',
      handle: async () => ({ body: { tenants: await admin.listTenants() } }),
    },
    {
      method: 'GET',
      path: '/tenants/:tenant/keys',
      summary: "List a tenant's client keys (prefixes only)",
      handle: async ({ params }) => ({ body: { keys: await admin.listClientKeys(params['tenant'] as string) } }),
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/keys/:key',
      summary: 'Revoke a client key',
      handle: async ({ params }) => {
        await admin.revokeClientKey(params['tenant'] as string, params['key'] as string);
        return { status: 200, body: { revoked: true } };
      },
    },
  ];
}
