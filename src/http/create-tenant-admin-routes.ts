import { GatehouseError } from '../core/index.ts';
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
      method: 'POST',
      path: '/tenants/:tenant/keys',
      summary: 'Create a client key for toolsets of the tenant; the key is in the answer once, never again',
      roles: adminRoleSets.configure,
      body: {
        name: { type: 'string', required: true, description: 'Unique in the tenant, e.g. support-agent' },
        toolsets: { type: 'string[]', required: true, description: 'Toolsets the key may call' },
        subject: { type: 'string', description: 'Whose connections its calls use (default shared)' },
      },
      handle: async ({ params, readJson }) => {
        const body = await readJson();
        const { name, toolsets, subject = 'shared' } = body;
        if (typeof name !== 'string' || !/^.{1,100}$/u.test(name)) {
          throw new GatehouseError('invalid_request', 'name: expected 1-100 characters', { field: 'name' });
        }
        if (!Array.isArray(toolsets) || toolsets.length === 0 || !toolsets.every((t) => typeof t === 'string')) {
          throw new GatehouseError('invalid_request', 'toolsets: expected a non-empty array of toolset ids', {
            field: 'toolsets',
          });
        }
        if (typeof subject !== 'string' || !/^.{1,200}$/u.test(subject)) {
          throw new GatehouseError('invalid_request', 'subject: expected 1-200 characters', { field: 'subject' });
        }
        const created = await admin.createClientKey(params['tenant'] as string, { name, toolsets, subject });
        return { status: 201, body: created };
      },
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
