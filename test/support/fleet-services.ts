import { fileURLToPath } from 'node:url';
import { systemClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { createVault, loadMasterKeys } from '../../src/vault/index.ts';
import { seedOAuthConnection } from './seed-oauth-connection.ts';
import type { FakeRefreshServer } from './start-fake-refresh-server.ts';

/**
 * What the fleet fault suite and the soak share: a tenant's two services in YAML (`fake`, an API-key API on the
 * fake upstream; `oauth`, the fake authorization server's protected resource) and the OAuth connection of `alice`,
 * stored before the gateways start as a completed consent would have.
 */

const fakeApi = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const oauthApi = fileURLToPath(new URL('../fixtures/fleet-oauth.openapi.yaml', import.meta.url));

/** The `services:` entries of a tenant, indented for `tenants[].services`. */
export function fleetServicesYaml(upstreamUrl: string, as: FakeRefreshServer, refreshMarginSeconds: number): string {
  return `      - id: fake
        openapi: ${fakeApi}
        baseUrl: ${upstreamUrl}
        auth: { type: apiKey, in: header, name: X-API-Key, value: upstream-key-of-the-fake-api }
      - id: oauth
        openapi: ${oauthApi}
        baseUrl: ${as.url}
        auth:
          type: oauth2
          tokenUrl: ${as.tokenUrl}
          clientId: ${as.clientId}
          clientSecret: ${as.clientSecret}
          refreshMarginSeconds: ${refreshMarginSeconds}`;
}

/** Migrates the store and seeds `alice`'s connection to `oauth`; returns the refresh token of its family. */
export async function seedFleetConnection(options: {
  readonly store: string;
  readonly dataDir: string;
  readonly masterKey: string;
  readonly as: FakeRefreshServer;
  readonly tenantId: string;
  readonly accessExpiresInMs: number;
}): Promise<string> {
  const store = await openStore(options.store);
  try {
    await store.migrate();
    const masterKeys = loadMasterKeys({
      mode: 'development',
      masterKey: options.masterKey,
      dataDir: options.dataDir,
      warn: () => undefined,
    });
    const vault = createVault({ dataKeys: store.dataKeys, masterKeys, clock: systemClock });
    const seeded = await seedOAuthConnection({ store, vault }, options.as, {
      tenantId: options.tenantId,
      id: 'c-alice',
      service: 'oauth',
      subject: 'alice',
      accessExpiresAt: Date.now() + options.accessExpiresInMs,
      scopes: ['read', 'write'],
    });
    return seeded.refreshToken;
  } finally {
    await store.close();
  }
}
