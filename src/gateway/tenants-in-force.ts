import type { TenantConfig } from '../core/index.ts';

/**
 * The tenants this process serves now, by id (issue 14): the config's at start, then as stored configurations are
 * created, changed and deleted (`live.replaceTenant` / `live.removeTenant`). The config itself is frozen, so every
 * part that needs a tenant's settings after the start (its authorization server, its users, its OAuth services,
 * the admin routes' "is there such a tenant") asks here rather than reading `config.tenants`.
 */
export interface TenantsInForce {
  get(tenantId: string): TenantConfig | undefined;
  has(tenantId: string): boolean;
  list(): readonly TenantConfig[];
  put(tenant: TenantConfig): void;
  remove(tenantId: string): void;
}

export function createTenantsInForce(initial: readonly TenantConfig[]): TenantsInForce {
  const byId = new Map(initial.map((tenant) => [tenant.id, tenant] as const));
  return {
    get: (tenantId) => byId.get(tenantId),
    has: (tenantId) => byId.has(tenantId),
    list: () => [...byId.values()],
    put(tenant) {
      byId.set(tenant.id, tenant);
    },
    remove(tenantId) {
      byId.delete(tenantId);
    },
  };
}
