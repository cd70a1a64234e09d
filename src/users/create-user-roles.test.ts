import { describe, expect, it } from 'vitest';
import { activeUserRecord } from '../store/fixtures/active-user-record.ts';
import type { ApiTokenRecord, ApiTokenRepository, UserRoleRepository } from '../store/index.ts';
import { apiTokenUseGranularityMs, createUserRoles } from './create-user-roles.ts';

const user = activeUserRecord('acme', 'u1');

const noRoles: UserRoleRepository = {
  list: async () => ['member'],
  listTenant: async () => [],
  grant: async () => true,
  revoke: async () => true,
};

/** One stored token whose uses are recorded as the store does, counting the writes. */
function tokenStore(failing = false) {
  let token: ApiTokenRecord | undefined;
  const writes: number[] = [];
  const tokens: ApiTokenRepository = {
    insert: async (record) => {
      token = { ...record, lastUsedAt: null };
      return true;
    },
    findActive: async (_tenant, hash) => (token?.hash === hash ? { token, user } : undefined),
    list: async () => (token === undefined ? [] : [token]),
    revoke: async () => false,
    recordUse: async (_tenant, _id, at) => {
      if (failing) throw new Error('store unavailable');
      writes.push(at);
      if (token !== undefined) token = { ...token, lastUsedAt: at };
    },
  };
  return { tokens, writes };
}

describe('createUserRoles() API token last use', () => {
  it('records a use when a token authenticates, at most once per period, and lists it', async () => {
    let now = 1_000_000;
    const { tokens, writes } = tokenStore();
    const roles = createUserRoles({
      users: { get: async () => user },
      roles: noRoles,
      tokens,
      clock: { now: () => now, monotonic: () => now },
    });
    const { token, id } = await roles.createApiToken('acme', 'u1', { name: 'ci' }, 'user:u1');
    expect((await roles.listApiTokens('acme'))[0]?.lastUsedAt).toBeNull();

    for (let i = 0; i < 5; i++) {
      expect((await roles.authenticateApiToken(token))?.tokenId).toBe(id);
      now += 10_000;
    }
    // Five requests over 50 s: one write.
    expect(writes).toEqual([1_000_000]);
    now = 1_000_000 + apiTokenUseGranularityMs;
    await roles.authenticateApiToken(token);
    expect(writes).toEqual([1_000_000, 1_060_000]);
    expect((await roles.listApiTokens('acme'))[0]?.lastUsedAt).toBe(new Date(1_060_000).toISOString());
  });

  it('a store that cannot record the use does not refuse a valid token', async () => {
    const { tokens } = tokenStore(true);
    const roles = createUserRoles({
      users: { get: async () => user },
      roles: noRoles,
      tokens,
      clock: { now: () => 5, monotonic: () => 5 },
    });
    const { token } = await roles.createApiToken('acme', 'u1', { name: 'ci' }, 'user:u1');
    expect((await roles.authenticateApiToken(token))?.userId).toBe('u1');
  });
});
