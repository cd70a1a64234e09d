import { GatehouseError, type TenantConfig } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { TenantConfigs } from './create-tenant-configs.ts';
import { purgeTenant, type TenantPurgeReport } from './purge-tenant.ts';

export interface DeleteTenantDependencies {
  readonly store: Store;
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt' | 'destroyTenantKeys'>;
  readonly tenantConfigs: Pick<TenantConfigs, 'read' | 'delete'>;
  /** The tenant as served now (its OAuth services, for revoking connections upstream when purging). */
  readonly tenantOf: (tenantId: string) => TenantConfig | undefined;
  readonly publicUrl: string;
}

/**
 * `DELETE /api/v1/tenants/{tenant}` (issue 14): removes a stored tenant's configuration, so every process stops
 * serving it (its MCP endpoints, its authorization server, its sign-in and console answer 404; its client keys are
 * refused with the endpoints). A tenant that still holds anything (services, toolsets, users, client keys,
 * connections) is refused with `resource_conflict` naming what, unless `purge`: then everything it holds is
 * deleted as `gatehouse tenant purge` does (`purgeTenant`), after the configuration, so no process serves it while
 * its data goes. A tenant only in the config file (not stored) is not deleted here.
 */
export async function deleteTenant(
  deps: DeleteTenantDependencies,
  tenantId: string,
  options: { readonly purge: boolean; readonly actor: string },
): Promise<{ readonly purged?: TenantPurgeReport }> {
  const stored = await deps.tenantConfigs.read(tenantId);
  if (stored === undefined) {
    if (deps.tenantOf(tenantId) !== undefined) {
      throw new GatehouseError(
        'resource_conflict',
        `Tenant ${tenantId} is configured by the config file only (a secret written as a value, not stored): remove it there`,
      );
    }
    throw new GatehouseError('not_found', `No tenant ${tenantId}`);
  }
  if (!options.purge) {
    const held = await holdingsOf(deps.store, tenantId, stored.config as Record<string, unknown>);
    if (held.length > 0) {
      throw new GatehouseError(
        'resource_conflict',
        `Tenant ${tenantId} is not empty (${held.join(', ')}): delete those first, or send ?purge=true to delete ` +
          'everything it holds',
        { field: 'purge' },
      );
    }
  }
  const services = deps.tenantOf(tenantId)?.services ?? [];
  await deps.tenantConfigs.delete(tenantId, { expectedRevision: stored.revision, actor: options.actor });
  if (!options.purge) return {};
  return { purged: await purgeTenant(deps, tenantId, services, deps.publicUrl) };
}

/** What a tenant holds, counted for the refusal ("2 services, 1 user"); empty when there is nothing. */
async function holdingsOf(store: Store, tenantId: string, document: Record<string, unknown>): Promise<string[]> {
  const count = (value: unknown) => (Array.isArray(value) ? value.length : 0);
  const [users, keys, connections] = await Promise.all([
    store.users.list(tenantId),
    store.clientKeys.list(tenantId),
    store.connections.list(tenantId),
  ]);
  const counts: [number, string][] = [
    [count(document['services']), 'service'],
    [count(document['toolsets']), 'toolset'],
    [users.length, 'user'],
    [keys.filter((key) => key.revokedAt === null).length, 'client key'],
    [connections.length, 'connection'],
  ];
  return counts.filter(([n]) => n > 0).map(([n, noun]) => `${n} ${noun}${n === 1 ? '' : 's'}`);
}
