import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeBackends } from './fixtures/store-backends.ts';
import type { OAuthServerRecord, Store } from './port.ts';

/** The authorization server's rows on SQLite always and on PostgreSQL when GATEHOUSE_TEST_POSTGRES is set. */

function row(overrides: Partial<OAuthServerRecord> & Pick<OAuthServerRecord, 'idHash'>): OAuthServerRecord {
  return {
    tenantId: 'acme',
    model: 'AccessToken',
    payload: new Uint8Array([1]),
    grantId: null,
    uidHash: null,
    aud: null,
    accountId: null,
    clientId: null,
    expiresAt: null,
    consumedAt: null,
    ...overrides,
  };
}

for (const backend of storeBackends) {
  describe.skipIf(!backend.enabled)(`authorization-server rows on ${backend.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
      await store.migrate();
    });
    afterAll(() => store?.close());

    it('deleteExpired() removes expired codes, tokens, grants and sessions of every tenant, at most `limit` a call, oldest first', async () => {
      const models = ['AuthorizationCode', 'AccessToken', 'RefreshToken', 'Grant', 'Session', 'Interaction'];
      for (const [i, model] of models.entries()) {
        await store.oauthServer.upsert(row({ model, idHash: `old-${i}`, expiresAt: 1_000 + i }));
        await store.oauthServer.upsert(row({ tenantId: 'globex', model, idHash: `old-${i}`, expiresAt: 2_000 + i }));
        await store.oauthServer.upsert(row({ model, idHash: `live-${i}`, expiresAt: 50_000 }));
      }
      // A registered client has no expiry and never goes.
      await store.oauthServer.upsert(row({ model: 'Client', idHash: 'client', expiresAt: null }));

      // 12 expired rows, batches of 5: 5, 5, 2, then nothing.
      expect(await store.oauthServer.deleteExpired(10_000, 5)).toBe(5);
      // Oldest first: acme's five earliest went, acme's last and globex's rows are still there.
      expect(await store.oauthServer.find('acme', 'AuthorizationCode', 'old-0')).toBeUndefined();
      expect(await store.oauthServer.find('acme', 'Interaction', 'old-5')).toBeDefined();
      expect(await store.oauthServer.find('globex', 'AuthorizationCode', 'old-0')).toBeDefined();
      expect(await store.oauthServer.deleteExpired(10_000, 5)).toBe(5);
      expect(await store.oauthServer.deleteExpired(10_000, 5)).toBe(2);
      expect(await store.oauthServer.deleteExpired(10_000, 5)).toBe(0);
      for (const [i, model] of models.entries()) {
        expect(await store.oauthServer.find('acme', model, `live-${i}`)).toBeDefined();
        expect(await store.oauthServer.find('globex', model, `old-${i}`)).toBeUndefined();
      }
      expect(await store.oauthServer.find('acme', 'Client', 'client')).toBeDefined();
    });

    it('revokeGrantsFor() removes the grants of one user, client and resource with their codes and tokens, nothing else', async () => {
      const reader = 'https://gw.example/mcp/acme/reader';
      const writer = 'https://gw.example/mcp/acme/writer';
      const grant = (idHash: string, grantId: string, aud: string | null, accountId = 'alice', clientId = 'app') =>
        store.oauthServer.upsert(row({ model: 'Grant', idHash, grantId, aud, accountId, clientId }));
      const token = (idHash: string, grantId: string, aud: string) =>
        store.oauthServer.upsert(
          row({ model: 'AccessToken', idHash, grantId, aud, accountId: 'alice', clientId: 'app' }),
        );
      await grant('g-reader', 'G1', reader);
      await token('t-reader', 'G1', reader);
      await store.oauthServer.upsert(row({ model: 'RefreshToken', idHash: 'r-reader', grantId: 'G1' }));
      await grant('g-writer', 'G2', writer);
      await token('t-writer', 'G2', writer);
      await grant('g-bob', 'G3', reader, 'bob');
      await grant('g-other-app', 'G4', reader, 'alice', 'other-app');
      await grant('g-old', 'G5', null); // stored before grants carried their resource

      expect(await store.oauthServer.revokeGrantsFor('globex', 'alice', 'app', reader)).toBe(0);
      expect(await store.oauthServer.revokeGrantsFor('acme', 'alice', 'app', reader)).toBe(4);
      for (const [model, id] of [
        ['Grant', 'g-reader'],
        ['AccessToken', 't-reader'],
        ['RefreshToken', 'r-reader'],
        ['Grant', 'g-old'],
      ] as const) {
        expect(await store.oauthServer.find('acme', model, id)).toBeUndefined();
      }
      for (const [model, id] of [
        ['Grant', 'g-writer'],
        ['AccessToken', 't-writer'],
        ['Grant', 'g-bob'],
        ['Grant', 'g-other-app'],
      ] as const) {
        expect(await store.oauthServer.find('acme', model, id)).toBeDefined();
      }
    });
  });
}
