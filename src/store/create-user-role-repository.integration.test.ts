import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeBackends } from './fixtures/store-backends.ts';
import type { Store, UserRecord } from './port.ts';

/** Roles and personal API tokens (0027, 0028) on SQLite always and on PostgreSQL when GATEHOUSE_TEST_POSTGRES is set. */

const user = (tenantId: string, id: string): UserRecord => ({
  tenantId,
  id,
  name: id,
  displayName: id,
  status: 'active',
  passwordHash: null,
  ssoSubject: null,
  inviteHash: null,
  inviteExpiresAt: null,
  createdAt: 1,
  updatedAt: 1,
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

    it('finds a token by hash only in its tenant, while unrevoked, unexpired and its user active', async () => {
      const token = {
        tenantId: 'a',
        id: 't1',
        userId: 'u1',
        name: 'ci',
        hash: 'h1',
        prefix: 'gatehouse_pat_a_abcd',
        createdAt: 10,
        expiresAt: 1_000,
        revokedAt: null,
      };
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
      expect((await store.apiTokens.list('a', 'u1')).map((t) => [t.id, t.revokedAt])).toEqual([['t1', 40]]);
      expect(await store.purgeTenant('a')).toMatchObject({ user_api_tokens: 1, user_roles: 1 });
      expect(await store.apiTokens.list('a', 'u1')).toEqual([]);
    });
  });
}
