import { z } from 'zod';
import type { GatewayAdmin } from '../gateway/index.ts';
import { type AdminRoute, adminRoleSets, parseAdminBody } from './create-admin-routes.ts';

const clientKeyRequest = z.strictObject({
  name: z.string().min(1).max(100).describe('Unique in the tenant, e.g. support-agent'),
  toolsets: z.array(z.string().min(1)).min(1).describe('Toolsets the key may call'),
  subject: z.string().min(1).max(200).default('shared').describe('Whose connections its calls use'),
});

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
      path: '/tenants/:tenant/federation',
      summary:
        "The tenant's remote MCP (mcp:) services: listing state (listed, degraded, unlisted), tools, resources and prompts listed, and why the last listing failed",
      roles: adminRoleSets.configure,
      handle: async ({ params }) => {
        const tenant = params['tenant'] as string;
        const services = admin.federationStatus(tenant).map(({ tenant: _tenant, ...status }) => status);
        return { body: { tenant, services } };
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
      requestSchema: clientKeyRequest,
      handle: async ({ params, readJson, actor }) => {
        const { name, toolsets, subject } = parseAdminBody(clientKeyRequest, await readJson());
        const created = await admin.createClientKey(params['tenant'] as string, { name, toolsets, subject }, actor);
        return { status: 201, body: created };
      },
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/keys/:key',
      summary: 'Revoke a client key',
      roles: adminRoleSets.configure,
      handle: async ({ params, actor }) => {
        await admin.revokeClientKey(params['tenant'] as string, params['key'] as string, actor);
        return { status: 200, body: { revoked: true } };
      },
    },
  ];
}
