import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import { createMemoryLimiter } from '../policy/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createUserAccounts, type UserAccounts, type UserSecurityEvent } from './create-user-accounts.ts';
import { hashPassword, passwordNeedsRehash, verifyPassword } from './hash-password.ts';

/** Local accounts and sessions over a real SQLite store in a temp folder, with a manual clock (IA-07). */
let dir: string;
let store: Store;
let now = 1_700_000_000_000;
const clock: Clock = { now: () => now, monotonic: () => now };
let events: UserSecurityEvent[];
let accounts: UserAccounts;

function cookieOf(id: string): string {
  return `other=1; gatehouse_session=${id}`;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-users-'));
  store = await openStore(`sqlite:${join(dir, 'g.db')}`);
  await store.migrate();
  events = [];
  accounts = createUserAccounts({
    users: store.users,
    sessions: store.userSessions,
    clock,
    limiter: createMemoryLimiter(clock),
    publicUrl: 'http://127.0.0.1:8787',
    // Cheaper hashes keep the unit suite fast; hashPassword()'s own tests use the real parameters.
    hashParameters: { N: 2 ** 12, r: 8, p: 1 },
    tenants: [
      { id: 'acme', localEnabled: true, sessionHours: 1 },
      { id: 'globex', localEnabled: true, sessionHours: 1 },
    ],
    onSecurityEvent: (event) => void events.push(event),
  });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('hashPassword()', () => {
  it('stores scrypt parameters (N >= 2^15, r=8, p=1) and a per-user salt with the hash', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterz', a)).toBe(false);
    expect(await verifyPassword('x', 'not a hash')).toBe(false);
    // Five derivations at the real cost: seconds on a loaded two-core machine.
  }, 60_000);

  it('an older, weaker hash still verifies and asks to be replaced', async () => {
    const weak = await hashPassword('correct horse battery', { N: 2 ** 14, r: 8, p: 1 });
    expect(await verifyPassword('correct horse battery', weak)).toBe(true);
    expect(passwordNeedsRehash(weak)).toBe(true);
    expect(passwordNeedsRehash(await hashPassword('correct horse battery'))).toBe(false);
  });
});

describe('createUserAccounts()', () => {
  async function invitedUser(name: string, password: string, tenant = 'acme') {
    const created = await accounts.createUser(tenant, { name }, 'operator');
    const token = created.inviteUrl.split('/invite/')[1] as string;
    const session = await accounts.acceptInvite(token, password);
    return { created, token, session };
  }

  it('an invite sets the password once and signs the user in; the link then stops working', async () => {
    const { created, token, session } = await invitedUser('alice', 'alice-password-1');
    expect(created.inviteUrl).toMatch(/^http:\/\/127\.0\.0\.1:8787\/invite\/[A-Za-z0-9_-]{43}$/);
    expect(session.user).toMatchObject({ tenant: 'acme', name: 'alice' });
    expect(await accounts.signedInUser('acme', cookieOf(session.id))).toEqual(session.user);
    await expect(accounts.acceptInvite(token, 'another-password-2')).rejects.toMatchObject({ code: 'not_found' });
    // The store holds only hashes: neither the session id nor the invite token.
    const row = await store.users.findByName('acme', 'alice');
    expect(JSON.stringify(row)).not.toContain(token);
    expect(row?.passwordHash).toMatch(/^scrypt\$/);
  });

  it('IA-07 unknown name, wrong password and disabled user answer the same unauthenticated, each audited', async () => {
    await invitedUser('alice', 'alice-password-1');
    await invitedUser('bob', 'bob-password-123');
    const bob = (await store.users.findByName('acme', 'bob'))!;
    await accounts.disableUser('acme', bob.id, 'operator');
    events.length = 0;
    const answers = await Promise.all([
      accounts.signInWithPassword('acme', 'nobody', 'alice-password-1', '10.0.0.1').catch((e) => e),
      accounts.signInWithPassword('acme', 'alice', 'wrong-password-1', '10.0.0.2').catch((e) => e),
      accounts.signInWithPassword('acme', 'bob', 'bob-password-123', '10.0.0.3').catch((e) => e),
    ]);
    expect(answers.map((e) => [e.code, e.message])).toEqual([
      ['unauthenticated', 'Wrong name or password'],
      ['unauthenticated', 'Wrong name or password'],
      ['unauthenticated', 'Wrong name or password'],
    ]);
    expect(events.map((e) => [e.event, e.decision, e.detail])).toEqual(
      expect.arrayContaining([
        ['user_sign_in', 'deny', 'unknown_user'],
        ['user_sign_in', 'deny', 'wrong_password'],
        ['user_sign_in', 'deny', 'disabled'],
      ]),
    );
    expect(events).toHaveLength(3);
  });

  it('IA-07 the sixth attempt on one name within a minute is refused before any password check, known name or not', async () => {
    await invitedUser('alice', 'alice-password-1');
    for (const name of ['alice', 'nobody']) {
      for (let i = 0; i < 5; i++) {
        await accounts.signInWithPassword('acme', name, 'wrong-password-1', `10.2.${i}.1`).catch(() => {});
      }
      events.length = 0;
      const refused = await accounts.signInWithPassword('acme', name, 'alice-password-1', '10.2.9.1').catch((e) => e);
      expect(refused.code).toBe('rate_limited');
      expect(refused.details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(events).toEqual([
        expect.objectContaining({ event: 'user_sign_in', decision: 'deny', code: 'rate_limited' }),
      ]);
    }
    now += 60_000;
    const session = await accounts.signInWithPassword('acme', 'alice', 'alice-password-1', '10.2.9.1');
    expect(session.user.name).toBe('alice');
  });

  it('IA-07 one address is limited across names', async () => {
    for (let i = 0; i < 20; i++) {
      await accounts.signInWithPassword('acme', `n${i}`, 'wrong-password-1', '10.3.0.1').catch(() => {});
    }
    const refused = await accounts.signInWithPassword('acme', 'someone', 'x', '10.3.0.1').catch((e) => e);
    expect(refused.code).toBe('rate_limited');
  });

  it('every sign-in is a new session id; sign-out ends it; a session of one tenant is nothing at another', async () => {
    await invitedUser('alice', 'alice-password-1');
    const first = await accounts.signInWithPassword('acme', 'alice', 'alice-password-1', '10.4.0.1');
    const second = await accounts.signInWithPassword('acme', 'alice', 'alice-password-1', '10.4.0.1');
    expect(second.id).not.toBe(first.id);
    expect(await accounts.signedInUser('globex', cookieOf(first.id))).toBeUndefined();
    expect(await accounts.signedInUser('nowhere', cookieOf(first.id))).toBeUndefined();
    await accounts.signOut('acme', cookieOf(first.id));
    expect(await accounts.signedInUser('acme', cookieOf(first.id))).toBeUndefined();
    expect(await accounts.signedInUser('acme', cookieOf(second.id))).toMatchObject({ name: 'alice' });
  });

  it('a session expires after sessionHours; disabling a user ends their sessions at once', async () => {
    const { session } = await invitedUser('alice', 'alice-password-1');
    now += 3_600_000;
    expect(await accounts.signedInUser('acme', cookieOf(session.id))).toBeUndefined();
    const again = await accounts.signInWithPassword('acme', 'alice', 'alice-password-1', '10.5.0.1');
    await accounts.disableUser('acme', again.user.id, 'operator');
    expect(await accounts.signedInUser('acme', cookieOf(again.id))).toBeUndefined();
  });

  it('the CSRF token is bound to the session cookie', async () => {
    const { session } = await invitedUser('alice', 'alice-password-1');
    const active = await accounts.activeSession('acme', cookieOf(session.id));
    expect(accounts.checkCsrf(cookieOf(session.id), active?.csrfToken ?? '')).toBe(true);
    const other = await accounts.signInWithPassword('acme', 'alice', 'alice-password-1', '10.6.0.1');
    expect(accounts.checkCsrf(cookieOf(other.id), active?.csrfToken ?? '')).toBe(false);
    expect(accounts.checkCsrf(undefined, active?.csrfToken ?? '')).toBe(false);
  });

  it('bad input names the field: short password, bad name, duplicate name', async () => {
    const created = await accounts.createUser('acme', { name: 'carol' }, 'operator');
    const token = created.inviteUrl.split('/invite/')[1] as string;
    await expect(accounts.acceptInvite(token, 'short')).rejects.toMatchObject({
      code: 'invalid_request',
      details: { field: 'password' },
    });
    await expect(accounts.createUser('acme', { name: '../x' }, 'operator')).rejects.toMatchObject({
      details: { field: 'name' },
    });
    await expect(accounts.createUser('acme', { name: 'carol' }, 'operator')).rejects.toMatchObject({
      details: { field: 'name' },
    });
    await expect(accounts.createUser('nowhere', { name: 'dave' }, 'operator')).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('ensureLocalUser() creates the demo user once and resets a changed password', async () => {
    await accounts.ensureLocalUser('acme', 'demo', 'demo-password-1');
    const id = (await store.users.findByName('acme', 'demo'))?.id;
    await accounts.ensureLocalUser('acme', 'demo', 'demo-password-2');
    expect((await store.users.findByName('acme', 'demo'))?.id).toBe(id);
    await expect(accounts.signInWithPassword('acme', 'demo', 'demo-password-2', '10.7.0.1')).resolves.toBeDefined();
  });
});
