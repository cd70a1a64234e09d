import { type Config, GatehouseError } from '../core/index.ts';
import { purgeTenant } from '../gateway/index.ts';
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

/**
 * `gatehouse tenant purge --tenant T` (docs/requirements.md ST-10): revokes every connection of the tenant upstream (RFC 7009,
 * best effort), deletes its connections, secrets, client keys, approval requests, usage rows, users and sessions, then destroys its
 * data keys (crypto-shredding:
 * any ciphertext of the tenant left anywhere, e.g. in a backup, no longer decrypts). The audit log is append-only
 * and stays as it is. Revocation comes first because it needs the tokens decrypted.
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
    const report = await purgeTenant(adapters, tenant, source?.services ?? [], config.publicUrl);
    const out = context.stdout;
    out.write(
      `Purged tenant ${tenant}: ${report.connections} connection(s) (${report.revoked} revoked upstream), ` +
        `${report.secrets} secret(s), ${report.clientKeys} client key(s), ${report.approvals} approval request(s), ` +
        `${report.usageRows} usage row(s), ${report.users} user(s) and their sessions; data keys destroyed; audit log kept.\n`,
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
