import type { Store } from '../../src/store/index.ts';
import type { Vault } from '../../src/vault/index.ts';
import type { FakeRefreshServer } from './start-fake-refresh-server.ts';

/**
 * Stores an active OAuth connection as a completed consent would, with a fresh token family of the fake
 * authorization server, its tokens encrypted by the gateway's vault. Returns the tokens issued.
 */
export async function seedOAuthConnection(
  adapters: { readonly store: Store; readonly vault: Vault },
  as: Pick<FakeRefreshServer, 'seed'>,
  connection: {
    readonly tenantId: string;
    readonly id: string;
    readonly service: string;
    readonly subject: string;
    readonly accessExpiresAt: number;
    readonly scopes?: readonly string[];
  },
): Promise<{ accessToken: string; refreshToken: string }> {
  const seeded = as.seed();
  const scope = { tenantId: connection.tenantId, owner: `connection:${connection.id}` };
  await adapters.store.connections.upsert({
    tenantId: connection.tenantId,
    id: connection.id,
    service: connection.service,
    subject: connection.subject,
    status: 'active',
    scopes: [...(connection.scopes ?? ['read'])],
    accessToken: await adapters.vault.encrypt({ ...scope, field: 'access_token' }, seeded.accessToken),
    refreshToken: await adapters.vault.encrypt({ ...scope, field: 'refresh_token' }, seeded.refreshToken),
    accessExpiresAt: connection.accessExpiresAt,
    createdAt: Date.now(),
  });
  return seeded;
}
