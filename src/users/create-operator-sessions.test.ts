import { createSecretKey, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.ts';
import {
  createOperatorSessions,
  type OperatorSessionKeys,
  operatorCookieName,
  operatorSessionSeconds,
} from './create-operator-sessions.ts';

const adminToken = 'operator-sessions-admin-token-0123456789';
const start = Date.UTC(2026, 11, 1, 9, 0, 0);

function keyRing(versions: readonly number[] = [1], current = 1): OperatorSessionKeys {
  return { current, keys: new Map(versions.map((v) => [v, createSecretKey(randomBytes(32))])) };
}

/** Signed-out sessions in a real (in-memory SQLite) store, shared by every `setup` as by a fleet's processes. */
let store: Store;
beforeAll(async () => {
  store = await openStore('sqlite::memory:');
  await store.migrate();
});
afterAll(() => store?.close());

function setup(options: { token?: string | undefined; keys?: OperatorSessionKeys } = {}) {
  let now = start;
  const sessions = createOperatorSessions({
    adminToken: 'token' in options ? options.token : adminToken,
    keys: options.keys ?? keyRing(),
    ended: store.operatorSessionEnds,
    now: () => now,
  });
  return { sessions, advance: (ms: number) => (now += ms) };
}

const cookieOf = (value: string) => `other=1; ${operatorCookieName}=${value}`;

describe('createOperatorSessions()', () => {
  it('checks the admin token exactly: a prefix, a longer string or another case is not it', async () => {
    const { sessions } = setup();
    expect(sessions.checkAdminToken(adminToken)).toBe(true);
    for (const wrong of ['', adminToken.slice(0, -1), `${adminToken}0`, adminToken.toUpperCase()]) {
      expect(sessions.checkAdminToken(wrong)).toBe(false);
    }
  });

  it('accepts a cookie it issued, with a CSRF token bound to it, for 8 hours', async () => {
    const { sessions, advance } = setup();
    const issued = sessions.issue();
    expect(issued.maxAgeSeconds).toBe(operatorSessionSeconds);
    const session = await sessions.sessionOf(cookieOf(issued.value));
    expect(session?.expiresAt).toBe(start / 1000 + 8 * 3_600);
    // The CSRF token is bound to the cookie: the same for the same cookie, another for another session's.
    expect(session?.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await sessions.sessionOf(cookieOf(issued.value)))?.csrfToken).toBe(session?.csrfToken);
    expect((await sessions.sessionOf(cookieOf(sessions.issue().value)))?.csrfToken).not.toBe(session?.csrfToken);
    advance(8 * 3_600_000 - 1_000);
    expect(await sessions.sessionOf(cookieOf(issued.value))).toBeDefined();
  });

  it('refuses an expired cookie', async () => {
    const { sessions, advance } = setup();
    const issued = sessions.issue();
    advance(8 * 3_600_000);
    expect(await sessions.sessionOf(cookieOf(issued.value))).toBeUndefined();
  });

  it('refuses a tampered cookie: a later expiry, another nonce, another MAC, another key version', async () => {
    const { sessions } = setup();
    const [version, expires, nonce, mac] = sessions.issue().value.split('.') as [string, string, string, string];
    const flip = (text: string) => `${text.slice(0, -2)}${text.at(-2) === 'A' ? 'B' : 'A'}${text.at(-1)}`;
    for (const forged of [
      `${version}.${Number(expires) - 60}.${nonce}.${mac}`,
      `${version}.${Number(expires) + 3_600 * 24 * 365}.${nonce}.${mac}`,
      `${version}.${expires}.${flip(nonce)}.${mac}`,
      `${version}.${expires}.${nonce}.${flip(mac)}`,
      `2.${expires}.${nonce}.${mac}`,
      `${version}.${expires}.${nonce}`,
      '',
    ]) {
      expect(await sessions.sessionOf(cookieOf(forged)), forged).toBeUndefined();
    }
  });

  it('refuses a cookie issued under another admin token with the same master key (the token was rotated)', async () => {
    const keys = keyRing();
    const before = setup({ keys }).sessions.issue();
    expect(await setup({ keys }).sessions.sessionOf(cookieOf(before.value))).toBeDefined();
    expect(
      await setup({ keys, token: 'the-new-admin-token-9876543210' }).sessions.sessionOf(cookieOf(before.value)),
    ).toBeUndefined();
  });

  it('refuses a cookie signed under another master key, and checks one of an older version still loaded', async () => {
    const issued = setup({ keys: keyRing() }).sessions.issue();
    expect(await setup({ keys: keyRing() }).sessions.sessionOf(cookieOf(issued.value))).toBeUndefined();
    const rotated = keyRing([1, 2], 1);
    const old = setup({ keys: rotated }).sessions.issue();
    const after = setup({ keys: { current: 2, keys: rotated.keys } }).sessions;
    expect(await after.sessionOf(cookieOf(old.value))).toBeDefined();
    expect(after.issue().value.startsWith('2.')).toBe(true);
  });

  it('operator_cookie_outlives_sign_out: ends a session for every process sharing the store, and only that one', async () => {
    const keys = keyRing();
    const one = setup({ keys });
    const two = setup({ keys });
    const issued = one.sessions.issue();
    const other = one.sessions.issue();
    expect(await two.sessions.sessionOf(cookieOf(issued.value))).toBeDefined();
    expect(await one.sessions.end(cookieOf(issued.value))).toBe(true);
    // Refused by the process that ended it and by the other one, its CSRF token with it; the other session lives.
    expect(await one.sessions.sessionOf(cookieOf(issued.value))).toBeUndefined();
    expect(await two.sessions.sessionOf(cookieOf(issued.value))).toBeUndefined();
    const csrf = (await two.sessions.sessionOf(cookieOf(other.value)))?.csrfToken ?? '';
    expect(csrf).not.toBe('');
    // Ending it again, or a cookie that is no session, records nothing.
    expect(await two.sessions.end(cookieOf(issued.value))).toBe(false);
    expect(await two.sessions.end(cookieOf('1.2.3.4'))).toBe(false);
    expect(await two.sessions.end(undefined)).toBe(false);
    // The row is kept until the cookie would have expired, then swept.
    const expiresAt = (start / 1000 + operatorSessionSeconds) * 1000;
    expect(await store.operatorSessionEnds.deleteExpired(expiresAt)).toBe(0);
    expect(await store.operatorSessionEnds.isEnded('no-such-session')).toBe(false);
    expect(await store.operatorSessionEnds.deleteExpired(expiresAt + 1)).toBe(1);
  });

  it('is off without an admin token: no token checks out, no cookie is valid, none is issued', async () => {
    const { sessions } = setup({ token: undefined });
    expect(sessions.enabled).toBe(false);
    expect(sessions.checkAdminToken('')).toBe(false);
    expect(() => sessions.issue()).toThrow(/no admin token/);
    const issued = setup().sessions.issue();
    expect(await sessions.sessionOf(cookieOf(issued.value))).toBeUndefined();
  });
});
