import { GatehouseError, type ServiceConfig, systemClock } from '../core/index.ts';
import { createConnectFlow, type OAuthServiceAuth } from '../oauth/index.ts';
import type { Store, TenantPurgeCounts } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';

/** What a purge did (`gatehouse tenant purge`, `DELETE /api/v1/tenants/{tenant}?purge=true`). Never holds a token. */
export interface TenantPurgeReport {
  readonly tenant: string;
  readonly connections: number;
  readonly revoked: number;
  /** Connections whose tokens were not revoked upstream, and why. */
  readonly notRevoked: readonly { readonly connection: string; readonly service: string; readonly reason: string }[];
  /** Rows deleted per table (`client_keys`, `users`, `data_keys`, ...); the revoked connections were deleted before. */
  readonly rows: TenantPurgeCounts;
}

/**
 * Deletes everything a tenant holds but its audit log (docs/requirements.md ST-10, docs/operations.md "Removing a
 * tenant"): revokes every connection upstream (RFC 7009, best effort; `services` are the tenant's, whose OAuth
 * endpoints and client secrets revocation needs), then deletes every row of the tenant, data keys included, in one
 * store transaction (`Store.purgeTenant`; crypto-shredding: any ciphertext of the tenant left anywhere, e.g. in a
 * backup, no longer decrypts). Revocation comes first because it needs the tokens decrypted.
 */
export async function purgeTenant(
  adapters: { readonly store: Store; readonly vault: Pick<Vault, 'encrypt' | 'decrypt' | 'destroyTenantKeys'> },
  tenant: string,
  services: readonly ServiceConfig[],
  publicUrl: string,
): Promise<TenantPurgeReport> {
  const { store, vault } = adapters;
  const oauthServices = revocableServicesOf(services);
  const flow = createConnectFlow({
    store,
    sealer: vault,
    clock: systemClock,
    publicUrl,
    findService: (t, service) => (t === tenant ? oauthServices.get(service) : undefined),
    // The configured secret is the source of truth; the vault copy is about to be shredded anyway.
    readClientSecret: async (_t, service) => oauthServices.get(service)?.clientSecret,
  });
  const connections = await store.connections.list(tenant);
  const notRevoked: { connection: string; service: string; reason: string }[] = [];
  let revoked = 0;
  for (const connection of connections) {
    const auth = oauthServices.get(connection.service);
    const reason =
      auth === undefined
        ? 'no definition of the service (pass --previous-config with the tenant)'
        : auth.revocationUrl === undefined && auth.issuer === undefined
          ? 'the provider has no revocation endpoint configured'
          : 'revocation failed or is not supported by the provider';
    try {
      // disconnect revokes best effort and deletes the connection even when revocation fails.
      // This flow records nothing (no onSecurityEvent): the purge's own report is the record.
      if ((await flow.disconnect(tenant, connection.id, 'purge')).revoked) revoked++;
      else notRevoked.push({ connection: connection.id, service: connection.service, reason });
    } catch (error) {
      // The row is deleted below with the rest; the tokens die with the data keys.
      const code = error instanceof GatehouseError ? error.code : 'error';
      notRevoked.push({ connection: connection.id, service: connection.service, reason: code });
    }
  }
  const rows = await store.purgeTenant(tenant);
  // The rows are gone already; this forgets the data key this process's vault cached (for the revocations above).
  await vault.destroyTenantKeys(tenant);
  return { tenant, connections: connections.length, revoked, notRevoked, rows };
}

/**
 * The OAuth services whose tokens a purge can revoke, by id. A client an `mcp:` service registered itself is not in
 * the config: its tokens die with the tenant's data keys.
 */
function revocableServicesOf(services: readonly ServiceConfig[]): ReadonlyMap<string, OAuthServiceAuth> {
  const found = new Map<string, OAuthServiceAuth>();
  for (const service of services) {
    if (service.auth.type === 'oauth2' && service.auth.clientId !== undefined) {
      found.set(service.id, { ...service.auth, clientId: service.auth.clientId });
    }
  }
  return found;
}
