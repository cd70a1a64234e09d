import { createHash, createHmac, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import type { OperatorSessionEndRepository } from '../store/index.ts';
import { readCookie } from './create-user-accounts.ts';
import { hashSecretToken, sameToken } from './session-token.ts';

/** The cookie of an operator's console session. */
export const operatorCookieName = 'gatehouse_operator';

/** The label the session key is derived under from the master key (`Vault.deriveKeys`). */
export const operatorSessionPurpose = 'gatehouse operator session v1';

/** How long an operator stays signed in: 8 hours, a working day, after which the admin token is asked again. */
export const operatorSessionSeconds = 8 * 3_600;

/** How the operator is named wherever a user would be: page headers, audit records (`subject`), approvals. */
export const operatorActor = 'operator';

/** Keys derived from every loaded master key version for `operatorSessionPurpose`, and the version that signs. */
export interface OperatorSessionKeys {
  readonly current: number;
  readonly keys: ReadonlyMap<number, KeyObject>;
}

export interface OperatorSessionsOptions {
  /** The admin token (config `adminToken`); undefined: operator sign-in is off and no cookie is valid. */
  readonly adminToken: string | undefined;
  /** Derived once at start (`Vault.deriveKeys(operatorSessionPurpose)`), never per request. */
  readonly keys: OperatorSessionKeys;
  /**
   * The sessions ended by a sign-out, in the store every process shares (`Store.operatorSessionEnds`): a cookie
   * whose session is recorded there is refused by every process, though its seal still checks out.
   */
  readonly ended: Pick<OperatorSessionEndRepository, 'end' | 'isEnded'>;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

/** A new operator session: the cookie value (secret: HttpOnly) and its lifetime. */
export interface IssuedOperatorSession {
  readonly value: string;
  readonly maxAgeSeconds: number;
}

/** A valid operator session: the CSRF token its forms carry and when it ends. */
export interface OperatorSession {
  readonly csrfToken: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

export interface OperatorSessions {
  /** Whether an admin token is configured (else nobody signs in as the operator). */
  readonly enabled: boolean;
  /** Whether `typed` is the admin token, compared in constant time over SHA-256 digests (length does not leak). */
  checkAdminToken(typed: string): boolean;
  issue(): IssuedOperatorSession;
  /**
   * The operator session of the `Cookie` header as received, when its cookie is valid now and its session was not
   * signed out; else undefined. One store lookup, only for a cookie whose seal checks out.
   */
  sessionOf(cookieHeader: string | undefined): Promise<OperatorSession | undefined>;
  /**
   * Signs out the operator session of `cookieHeader` everywhere: recorded in the shared store until its cookie
   * would have expired, so a copy of the cookie opens nothing on any process. False when there was no valid session.
   */
  end(cookieHeader: string | undefined): Promise<boolean>;
}

const cookieFormat = /^([1-9][0-9]{0,5})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * Console sessions of the gateway's operator, who signs in with the admin token (no user). The cookie is
 * `<master key version>.<expires, epoch s>.<nonce>.<mac>`, the MAC an HMAC-SHA256 under a key derived from the
 * master key (so every process of a fleet checks every other's cookies, before and after restarts) over the
 * version, expiry, nonce and the SHA-256 of the admin token: a cookie made
 * under another admin token never checks out, so changing the token (and restarting) ends every operator session;
 * so does removing the master key version that signed it. The MAC key is not the admin token, so a stolen cookie
 * gives nothing to test guesses of the token against. The CSRF token is derived from the whole cookie value,
 * which only the browser's HttpOnly cookie holds. Signing in stores nothing; signing out stores the SHA-256 of the
 * cookie (`ended`) until it expires, and every check of a sealed cookie looks it up there (finding
 * operator_cookie_outlives_sign_out: a copy of the cookie taken before sign-out no longer works anywhere).
 */
export function createOperatorSessions(options: OperatorSessionsOptions): OperatorSessions {
  const { keys, now, ended } = options;
  const expected = options.adminToken === undefined ? undefined : digest(options.adminToken);
  const bound = expected?.toString('hex');

  function macOf(key: KeyObject, version: number, expires: number, nonce: string): string {
    return createHmac('sha256', key)
      .update(`gatehouse-operator-session-v1\n${version}\n${expires}\n${nonce}\n${bound}`)
      .digest('base64url');
  }

  /** The session of a cookie whose seal checks out now, before asking the store whether it was signed out. */
  function sealedSessionOf(cookieHeader: string | undefined): (OperatorSession & { value: string }) | undefined {
    if (bound === undefined) return undefined;
    const value = readCookie(cookieHeader, operatorCookieName);
    const match = value === undefined ? null : cookieFormat.exec(value);
    if (value === undefined || match === null) return undefined;
    const version = Number(match[1]);
    const expires = Number(match[2]);
    const seconds = now() / 1000;
    if (expires <= seconds || expires > seconds + operatorSessionSeconds) return undefined;
    const key = keys.keys.get(version);
    if (key === undefined || !sameToken(macOf(key, version, expires, match[3] as string), match[4] as string)) {
      return undefined;
    }
    return { value, expiresAt: expires, csrfToken: csrfTokenOf(value) };
  }

  async function sessionOf(
    cookieHeader: string | undefined,
  ): Promise<(OperatorSession & { value: string }) | undefined> {
    const sealed = sealedSessionOf(cookieHeader);
    if (sealed === undefined || (await ended.isEnded(hashSecretToken(sealed.value)))) return undefined;
    return sealed;
  }

  return {
    enabled: expected !== undefined,
    checkAdminToken: (typed) => expected !== undefined && timingSafeEqual(digest(typed), expected),
    issue() {
      const key = keys.keys.get(keys.current);
      if (bound === undefined || key === undefined) throw new Error('operator sign-in is off: no admin token');
      const expires = Math.floor(now() / 1000) + operatorSessionSeconds;
      const nonce = randomBytes(16).toString('base64url');
      const mac = macOf(key, keys.current, expires, nonce);
      return { value: `${keys.current}.${expires}.${nonce}.${mac}`, maxAgeSeconds: operatorSessionSeconds };
    },
    async sessionOf(cookieHeader) {
      const found = await sessionOf(cookieHeader);
      return found && { csrfToken: found.csrfToken, expiresAt: found.expiresAt };
    },
    async end(cookieHeader) {
      const found = await sessionOf(cookieHeader);
      if (found === undefined) return false;
      await ended.end(hashSecretToken(found.value), now(), found.expiresAt * 1000);
      return true;
    },
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function csrfTokenOf(cookieValue: string): string {
  return createHash('sha256').update(`gatehouse-operator-csrf-v1\n${cookieValue}`).digest('base64url');
}
