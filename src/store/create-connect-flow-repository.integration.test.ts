import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeBackends } from './fixtures/store-backends.ts';
import type { Store } from './port.ts';

/** The connect-flow repository on SQLite always and on PostgreSQL when GATEHOUSE_TEST_POSTGRES is set. */
for (const backend of storeBackends) {
  describe.skipIf(!backend.enabled)(`connect flow on ${backend.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
      await store.migrate();
    });
    afterAll(() => store?.close());

    it('a link is used exactly once, and never after it expired', async () => {
      const link = {
        tenantId: 'a',
        id: 'l1',
        service: 'gh',
        subject: 'alice',
        scopes: ['repo'],
        returnTo: null,
        expiresAt: 2_000,
        usedAt: null,
        createdAt: 1_000,
      };
      await store.connectFlow.insertLink(link);
      await store.connectFlow.insertLink({ ...link, id: 'l2' });
      expect(await store.connectFlow.getLink('b', 'l1')).toBeUndefined();
      expect((await store.connectFlow.getLink('a', 'l1'))?.scopes).toEqual(['repo']);
      const results = await Promise.all([1, 2, 3].map(() => store.connectFlow.useLink('a', 'l1', 1_500)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.connectFlow.useLink('a', 'l2', 2_000)).toBe(false);
      expect(await store.connectFlow.useLink('b', 'l2', 1_500)).toBe(false);
    });

    it('an authorization is consumed exactly once, within its lifetime, and only in its tenant', async () => {
      const record = {
        tenantId: 'a',
        stateHash: 'h1',
        linkId: 'l1',
        service: 'gh',
        subject: 'alice',
        scopes: ['repo'],
        codeVerifier: new Uint8Array([1, 2, 3]),
        sessionHash: 's',
        expiresAt: 2_000,
        consumedAt: null,
        createdAt: 1_000,
      };
      await store.connectFlow.insertAuthorization(record);
      await store.connectFlow.insertAuthorization({ ...record, stateHash: 'h2' });
      expect([...((await store.connectFlow.getAuthorization('a', 'h1'))?.codeVerifier ?? [])]).toEqual([1, 2, 3]);
      expect(await store.connectFlow.consumeAuthorization('b', 'h1', 1_500)).toBe(false);
      const results = await Promise.all([1, 2, 3].map(() => store.connectFlow.consumeAuthorization('a', 'h1', 1_500)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.connectFlow.consumeAuthorization('a', 'h2', 2_001)).toBe(false);
      expect(await store.connectFlow.deleteExpired(3_000)).toBeGreaterThanOrEqual(2);
      expect(await store.connectFlow.getAuthorization('a', 'h2')).toBeUndefined();
    });

    it('a held site choice is taken exactly once, before it expires; a failure is kept (migration 0035)', async () => {
      const record = {
        tenantId: 'a',
        stateHash: 'c1',
        linkId: 'l1',
        service: 'jira',
        subject: 'alice',
        scopes: [],
        codeVerifier: new Uint8Array([1]),
        sessionHash: 's',
        expiresAt: 2_000,
        consumedAt: null,
        createdAt: 1_000,
      };
      await store.connectFlow.insertAuthorization(record);
      await store.connectFlow.insertAuthorization({ ...record, stateHash: 'c2' });
      expect(await store.connectFlow.getAuthorization('a', 'c1')).toMatchObject({ siteChoice: null, failure: null });
      // Only a consumed authorization holds a choice.
      await store.connectFlow.holdSiteChoice('a', 'c1', new Uint8Array([7, 8]), 5_000);
      expect((await store.connectFlow.getAuthorization('a', 'c1'))?.siteChoice).toBeNull();
      expect(await store.connectFlow.consumeAuthorization('a', 'c1', 1_500)).toBe(true);
      await store.connectFlow.holdSiteChoice('a', 'c1', new Uint8Array([7, 8]), 5_000);
      const held = await store.connectFlow.getAuthorization('a', 'c1');
      expect([...(held?.siteChoice ?? [])]).toEqual([7, 8]);
      expect(held?.expiresAt).toBe(5_000);
      expect(await store.connectFlow.takeSiteChoice('b', 'c1', 3_000)).toBe(false);
      const taken = await Promise.all([1, 2, 3].map(() => store.connectFlow.takeSiteChoice('a', 'c1', 3_000)));
      expect(taken.filter(Boolean)).toHaveLength(1);
      expect((await store.connectFlow.getAuthorization('a', 'c1'))?.siteChoice).toBeNull();
      expect(await store.connectFlow.consumeAuthorization('a', 'c2', 1_500)).toBe(true);
      await store.connectFlow.holdSiteChoice('a', 'c2', new Uint8Array([1]), 5_000);
      expect(await store.connectFlow.takeSiteChoice('a', 'c2', 5_000)).toBe(false);
      await store.connectFlow.recordFailure('a', 'c2', 'oauth_token_failed: invalid_grant');
      expect((await store.connectFlow.getAuthorization('a', 'c2'))?.failure).toBe('oauth_token_failed: invalid_grant');
    });

    it('racing processes agree on one link key per tenant', async () => {
      const keys = await Promise.all(
        [1, 2, 3].map((i) => store.connectFlow.ensureLinkKey('k', new Uint8Array([i]), 1_000)),
      );
      expect(new Set(keys.map((k) => k[0])).size).toBe(1);
      expect([...(await store.connectFlow.ensureLinkKey('k', new Uint8Array([9]), 1_001))]).toEqual([...keys[0]!]);
    });
  });
}
