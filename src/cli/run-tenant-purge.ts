import { type Config, GatehouseError } from '../core/index.ts';
import { purgeTenant } from '../gateway/index.ts';
import type { CliContext } from './cli-context.ts';
import { withStoredTenants } from './with-stored-tenants.ts';

export interface TenantPurgeOptions {
  readonly tenant: string;
  /** Purge although the tenant is still in the config (the next `serve` would create it again). */
  readonly force?: boolean;
  /**
   * Where the tenant's service definitions (endpoints, client id and secret) come from for the upstream revocation:
   * a config that still has the tenant (usually the one in use before it was removed). Without it, the tenant's
   * entry in `config` when `force` is given; otherwise connections are deleted without revocation, reported.
   */
  readonly previous?: Config;
}

/**
 * `gatehouse tenant purge --tenant T` (docs/requirements.md ST-10, docs/configuration.md "Removing a tenant"):
 * revokes every connection of the tenant upstream (RFC 7009, best effort), then deletes every row of the tenant
 * but its audit log, data keys included (crypto-shredding: any ciphertext of the tenant left anywhere, e.g. in a
 * backup, no longer decrypts), in one store transaction (the gateway's `purgeTenant`). Refuses a tenant still
 * configured in the file or the store unless `force`.
 */
export async function runTenantPurge(
  config: Config,
  options: TenantPurgeOptions,
  context: CliContext,
): Promise<number> {
  const { tenant } = options;
  const configured = config.tenants.find((t) => t.id === tenant);
  if (configured !== undefined && options.force !== true) {
    throw new GatehouseError(
      'invalid_request',
      `Tenant ${tenant} is still in the config: remove it first (serve would create it again), or pass --force`,
    );
  }
  const source = options.previous?.tenants.find((t) => t.id === tenant) ?? configured;
  const adapters = await context.openAdapters(config, context);
  try {
    const stored = (await adapters.store.tenantConfigs.list()).find((t) => t.tenantId === tenant);
    if (stored !== undefined && options.force !== true) {
      throw new GatehouseError(
        'invalid_request',
        `Tenant ${tenant} is still configured in the store (revision ${stored.revision}), so every process serves it: delete it first (DELETE /api/v1/tenants/${tenant}?purge=true also purges it), or pass --force`,
      );
    }
    // A tenant that only the store configured (created through the admin API) names its services there: its
    // connections are then revoked upstream too.
    const services =
      source?.services ??
      (await withStoredTenants(config, adapters)).tenants.find((t) => t.id === tenant)?.services ??
      [];
    const report = await purgeTenant(adapters, tenant, services, config.publicUrl);
    const deleted = Object.entries(report.rows)
      .filter(([, count]) => count !== 0)
      .map(([table, count]) => `${table} ${count}`)
      .join(', ');
    context.stdout.write(
      `Purged tenant ${tenant}: ${report.connections} connection(s) (${report.revoked} revoked upstream); ` +
        `rows deleted: ${deleted === '' ? 'none' : deleted}; data keys destroyed; audit log kept.\n`,
    );
    for (const failure of report.notRevoked) {
      context.stderr.write(
        `gatehouse: warning: connection ${failure.connection} (${failure.service}) not revoked upstream: ${failure.reason}\n`,
      );
    }
    return 0;
  } finally {
    await adapters.close();
  }
}
