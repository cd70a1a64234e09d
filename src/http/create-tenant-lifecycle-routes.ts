import { z } from 'zod';
import { GatehouseError, isGatehouseError, type TenantDocument, tenantResourceSchemas } from '../core/index.ts';
import type { AdminRoute } from './create-admin-routes.ts';
import {
  hasProviderServices,
  invalidDocument,
  invalidResource,
  type TenantConfigDocuments,
} from './create-tenant-resource-routes.ts';

export interface TenantLifecycleRoutesOptions {
  readonly documents: TenantConfigDocuments;
  /** Whether this process serves the tenant now (a tenant of the config file alone is not in `documents`). */
  readonly hasTenant: (tenantId: string) => boolean;
  /** The gateway's `admin.deleteTenant`: refuses a tenant that is not empty unless `purge`. */
  readonly deleteTenant: (
    tenantId: string,
    options: { readonly purge: boolean; readonly actor: string },
  ) => Promise<{ readonly purged?: unknown }>;
  /** Resolves once this process serves what the store now says (its revision check), before the answer. */
  readonly settle: () => Promise<void>;
  readonly isRevisionConflict: (error: unknown) => boolean;
}

/**
 * Creating and deleting whole tenants (issue 14), for the operator only (the admin token): a tenant user cannot
 * make or remove tenants. A created tenant is a stored configuration document like any other, so every process
 * serves it (endpoints, audit keys, authorization server, users) from its next revision check, this one before it
 * answers; a deleted one stops answering (404) everywhere the same way.
 */
export function createTenantLifecycleRoutes(options: TenantLifecycleRoutesOptions): AdminRoute[] {
  const { documents } = options;
  return [
    {
      method: 'POST',
      path: '/tenants',
      summary:
        "Create a tenant from a tenant document (the config file's tenant schema); 409 when its id is taken; " +
        'served by every process at once (operator only)',
      roles: [],
      requestSchema: tenantResourceSchemas.tenant,
      responseSchema: z.object({ id: z.string(), revision: z.number().int() }),
      handle: async (context) => {
        const body = await context.readJson();
        const parsed = tenantResourceSchemas.tenant.safeParse(body);
        // Catalogue providers are expanded by the store's parse, which names the field the same way below; so is a
        // `${env:NAME}` reference, whose value the bare schema cannot judge (a client key's 24 characters).
        const issues = parsed.success ? [] : parsed.error.issues.filter((issue) => !isEnvReference(body, issue.path));
        if (issues.length > 0 && !hasProviderServices(body)) throw invalidResource(issues, []);
        const id = String(body['id']);
        const taken = () => new GatehouseError('resource_conflict', `id: tenant ${id} already exists`, { field: 'id' });
        if (options.hasTenant(id) || (await documents.read(id)) !== undefined) throw taken();
        let revision: number;
        try {
          ({ revision } = await documents.write(id, body as TenantDocument, {
            expectedRevision: null,
            actor: context.actor,
            summary: `tenant ${id} created`,
          }));
        } catch (error) {
          if (isGatehouseError(error) && error.code === 'config_invalid') throw invalidDocument(error, []);
          if (options.isRevisionConflict(error)) throw taken();
          throw error;
        }
        await options.settle();
        return { status: 201, body: { id, revision }, headers: { location: `/api/v1/tenants/${id}` } };
      },
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant',
      summary:
        'Delete a tenant: refused (409) unless it holds nothing or ?purge=true, which deletes everything it holds ' +
        'as `gatehouse tenant purge` does (operator only)',
      roles: [],
      query: { purge: 'true: also delete its users, keys, connections, secrets and data keys (the audit log stays)' },
      handle: async ({ params, query, actor }) => {
        const value = query.get('purge');
        if (value !== null && value !== 'true' && value !== 'false') {
          throw new GatehouseError('invalid_request', 'purge: expected true or false', { field: 'purge' });
        }
        const result = await options.deleteTenant(params['tenant'] as string, { purge: value === 'true', actor });
        await options.settle();
        return { body: { deleted: true, ...(result.purged === undefined ? {} : { purged: result.purged }) } };
      },
    },
  ];
}

/** Whether the value at `path` of `document` is a whole `${env:NAME}` reference. */
function isEnvReference(document: unknown, path: readonly PropertyKey[]): boolean {
  let node = document;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return false;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return typeof node === 'string' && /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/.test(node);
}
