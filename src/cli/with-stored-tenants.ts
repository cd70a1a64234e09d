import type { AuditLog } from '../audit/index.ts';
import { type Config, parseTenantDocument, type TenantConfig } from '../core/index.ts';
import type { Store } from '../store/index.ts';

/**
 * The config with the tenants that exist only in the store added (created through the admin API or the console):
 * the tenants a command acting on one tenant may name, as every gateway process serves them. A tenant of the file
 * stays as the file has it. A stored document that no longer parses is left out, as the gateway leaves it unserved.
 * The audit log, opened for the file's tenants, loads the added ones' keys (its records fingerprint secrets).
 */
export async function withStoredTenants(
  config: Config,
  adapters: { readonly store: Pick<Store, 'tenantConfigs'>; readonly audit?: Pick<AuditLog, 'addTenant'> },
): Promise<Config> {
  const { store } = adapters;
  const inFile = new Set(config.tenants.map((tenant) => tenant.id));
  const storedOnly: TenantConfig[] = [];
  for (const { tenantId } of await store.tenantConfigs.list()) {
    if (inFile.has(tenantId)) continue;
    const stored = await store.tenantConfigs.read(tenantId);
    if (stored === undefined) continue;
    try {
      storedOnly.push(parseTenantDocument(stored.document, { baseDir: config.baseDir }));
    } catch {
      // Unserved by the gateway too; the command then answers as for an unknown tenant.
    }
  }
  for (const tenant of storedOnly) await adapters.audit?.addTenant(tenant.id);
  return storedOnly.length === 0 ? config : { ...config, tenants: [...config.tenants, ...storedOnly] };
}
