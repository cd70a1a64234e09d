import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeUserRecord } from './fixtures/active-user-record.ts';
import { storeBackends } from './fixtures/store-backends.ts';
import type { ApiTokenRecord, Store } from './port.ts';

/** Roles and personal API tokens (0027, 0028, 0015) on SQLite always and on PostgreSQL when GATEHOUSE_TEST_POSTGRES is set. */

const user = activeUserRecord;

/** A personal API token of user u1 of tenant a that never expires, with `fields` changed. */
const apiToken = (fields: Partial<ApiTokenRecord>) => ({
  tenantId: 'a',
  id: 't1',
  userId: 'u1',
  name: 'ci',
  hash: 'h1',
  prefix: 'gatehouse_pat_a_abcd',
  createdAt: 10,
  expiresAt: null,
  revokedAt: null,
  ...fields,
});

for (const backend of storeBackends) {
  describe.skipIf(!backend.enabled)(`user roles and API tokens on ${backend.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
      await store.migrate();
      await store.users.insert(user('a', 'u1'));
      await store.users.insert(user('b', 'u1'));
    });
    afterAll(() => store?.close());

    it('grants a role once, lists it only in its tenant, and revokes it', async () => {
      const grant = { tenantId: 'a', userId: 'u1', role: 'admin', grantedAt: 5, grantedBy: 'admin' };
      expect(await store.userRoles.grant(grant)).toBe(true);
      expect(await store.userRoles.grant(grant)).toBe(false);
      await store.userRoles.grant({ ...grant, role: 'auditor' });
      expect(await store.userRoles.list('a', 'u1')).toEqual(['admin', 'auditor']);
      expect(await store.userRoles.list('b', 'u1')).toEqual([]);
      expect((await store.userRoles.listTenant('a')).map((g) => [g.role, g.grantedAt, g.grantedBy])).toEqual([
        ['admin', 5, 'admin'],
        ['auditor', 5, 'admin'],
      ]);
      expect(await store.userRoles.revoke('b', 'u1', 'admin')).toBe(false);
      expect(await store.userRoles.revoke('a', 'u1', 'admin')).toBe(true);
      expect(await store.userRoles.list('a', 'u1')).toEqual(['auditor']);
    });

    it("records a token's last use at most once per period, in its tenant only, and reads it with the token", async () => {
      const token = apiToken({ id: 'used1', name: 'used', hash: 'used-hash' });
      await store.apiTokens.insert(token);
      await store.apiTokens.insert({ ...token, tenantId: 'b' });
      expect((await store.apiTokens.findActive('a', 'used-hash', 100))?.token.lastUsedAt).toBeNull();
      const minute = 60_000;
      await store.apiTokens.recordUse('a', 'used1', 100_000, minute);
      // Within the period nothing is written; from its end on, the new time is.
      await store.apiTokens.recordUse('a', 'used1', 159_999, minute);
      expect((await store.apiTokens.findActive('a', 'used-hash', 100))?.token.lastUsedAt).toBe(100_000);
      await store.apiTokens.recordUse('a', 'used1', 160_000, minute);
      expect((await store.apiTokens.list('a', 'u1')).find((t) => t.id === 'used1')?.lastUsedAt).toBe(160_000);
      // The same token id in another tenant is another token.
      expect((await store.apiTokens.list('b', 'u1')).map((t) => t.lastUsedAt)).toEqual([null]);
      await store.apiTokens.revoke('b', 'used1', 1);
    });

    it('finds a token by hash only in its tenant, while unrevoked, unexpired and its user active', async () => {
      const token = apiToken({ expiresAt: 1_000 });
      expect(await store.apiTokens.insert(token)).toBe(true);
      expect(await store.apiTokens.insert({ ...token, id: 't2', hash: 'h2' })).toBe(false); // same user, same name
      expect((await store.apiTokens.findActive('a', 'h1', 500))?.user.id).toBe('u1');
      expect(await store.apiTokens.findActive('b', 'h1', 500)).toBeUndefined();
      expect(await store.apiTokens.findActive('a', 'h1', 1_000)).toBeUndefined();
      await store.users.setStatus('a', 'u1', 'disabled', 20);
      expect(await store.apiTokens.findActive('a', 'h1', 500)).toBeUndefined();
      await store.users.setStatus('a', 'u1', 'active', 30);
      expect(await store.apiTokens.revoke('a', 't1', 40)).toBe(true);
      expect(await store.apiTokens.revoke('a', 't1', 41)).toBe(false);
      expect(await store.apiTokens.findActive('a', 'h1', 500)).toBeUndefined();
      expect((await store.apiTokens.list('a', 'u1')).map((t) => [t.id, t.revokedAt])).toEqual([
        ['t1', 40],
        ['used1', null],
      ]);
      expect(await store.purgeTenant('a')).toMatchObject({ user_api_tokens: 2, user_api_token_uses: 1, user_roles: 1 });
      expect(await store.apiTokens.list('a', 'u1')).toEqual([]);
    });
  });
}
