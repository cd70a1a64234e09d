import { type Config, GatehouseError, systemClock } from '../core/index.ts';
import { createConnectFlow, type OAuthServiceAuth } from '../oauth/index.ts';
import type { TenantPurgeCounts } from '../store/index.ts';
import type { CliContext } from './cli-context.ts';

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

/** What a purge did; printed by the command. Never holds a token. */
export interface TenantPurgeReport {
  readonly tenant: string;
  readonly connections: number;
  readonly revoked: number;
  /** Connections whose tokens were not revoked upstream, and why. */
  readonly notRevoked: readonly { readonly connection: string; readonly service: string; readonly reason: string }[];
  /** Rows deleted per table, data keys included (the connections revoked above are counted there already). */
  readonly rows: TenantPurgeCounts;
}

/**
 * `gatehouse tenant purge --tenant T` (docs/requirements.md ST-10, docs/configuration.md "Removing a tenant"):
 * revokes every connection of the tenant upstream (RFC 7009, best effort), then deletes every row of the tenant
 * but its audit log, data keys included (crypto-shredding: any ciphertext of the tenant left anywhere, e.g. in a
 * backup, no longer decrypts), in one store transaction (`Store.purgeTenant`, which says what is kept). Revocation
 * comes first because it needs the tokens decrypted.
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
  const services = new Map<string, OAuthServiceAuth>();
  for (const service of source?.services ?? []) {
    if (service.auth.type === 'oauth2') services.set(service.id, service.auth);
  }
  const adapters = await context.openAdapters(config, context);
  try {
    const stored = (await adapters.store.tenantConfigs.list()).find((t) => t.tenantId === tenant);
    if (stored !== undefined && options.force !== true) {
      throw new GatehouseError(
        'invalid_request',
        `Tenant ${tenant} is still configured in the store (revision ${stored.revision}), so every process serves it: delete it first (DELETE /api/v1/tenants/${tenant}, or apply a file without it), or pass --force`,
      );
    }
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

async function purgeTenant(
  adapters: Awaited<ReturnType<CliContext['openAdapters']>>,
  tenant: string,
  services: ReadonlyMap<string, OAuthServiceAuth>,
  publicUrl: string,
): Promise<TenantPurgeReport> {
  const { store, vault } = adapters;
  const flow = createConnectFlow({
    store,
    sealer: vault,
    clock: systemClock,
    publicUrl,
    findService: (t, service) => (t === tenant ? services.get(service) : undefined),
    // The configured secret is the source of truth; the vault copy is about to be shredded anyway.
    readClientSecret: async (_t, service) => services.get(service)?.clientSecret,
  });
  const connections = await store.connections.list(tenant);
  const notRevoked: { connection: string; service: string; reason: string }[] = [];
  let revoked = 0;
  for (const connection of connections) {
    const auth = services.get(connection.service);
    const reason =
      auth === undefined
        ? 'no definition of the service (pass --previous-config with the tenant)'
        : auth.revocationUrl === undefined && auth.issuer === undefined
          ? 'the provider has no revocation endpoint configured'
          : 'revocation failed or is not supported by the provider';
    try {
      // disconnect revokes best effort and deletes the connection even when revocation fails.
      if ((await flow.disconnect(tenant, connection.id)).revoked) revoked++;
      else notRevoked.push({ connection: connection.id, service: connection.service, reason });
    } catch (error) {
      // The row is deleted below with the rest; the tokens die with the data keys.
      const code = error instanceof GatehouseError ? error.code : 'error';
      notRevoked.push({ connection: connection.id, service: connection.service, reason: code });
    }
  }
  const rows = await store.purgeTenant(tenant);
  // The rows are gone; this drops the data key this process's vault cached for the revocations above.
  await vault.destroyTenantKeys(tenant);
  return { tenant, connections: connections.length, revoked, notRevoked, rows };
}
