import { addressBudgetOf, type Clock, createId, GatehouseError } from '../core/index.ts';
import type { Limiter, LimitRule, UserRecord, UserRepository, UserSessionRepository } from '../store/index.ts';
import {
  hashPassword,
  type PasswordHashParameters,
  passwordHashParameters,
  passwordLength,
  passwordNeedsRehash,
  verifyPassword,
} from './hash-password.ts';
import { createSecretToken, csrfTokenOf, hashSecretToken, isWellFormedToken, sameToken } from './session-token.ts';

/** A signed-in end user, as every other module sees one. */
export interface SignedInUser {
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  readonly displayName: string;
}

/** A new session: `id` goes into the cookie (and nowhere else); the store keeps its SHA-256. */
export interface IssuedSession {
  readonly id: string;
  readonly user: SignedInUser;
  readonly maxAgeSeconds: number;
}

/** A valid session read from a cookie, with the CSRF token its forms must carry. */
export interface ActiveSession {
  readonly user: SignedInUser;
  readonly csrfToken: string;
}

/** A user as an operator sees one: never the password hash or an invite token. */
export interface UserSummary {
  readonly id: string;
  readonly name: string;
  readonly displayName: string;
  readonly status: 'active' | 'disabled';
  readonly signIn: readonly ('password' | 'sso')[];
  readonly invitePending: boolean;
  readonly createdAt: string;
}

/** A created user and the link that lets them set a password (shown once; the store keeps its hash). */
export interface CreatedUser {
  readonly user: UserSummary;
  readonly inviteUrl: string;
  readonly inviteExpiresAt: string;
}

/** Security events of sign-in and user management, for the audit log (the gateway caps and records them). */
export interface UserSecurityEvent {
  readonly tenant: string;
  readonly event:
    | 'user_sign_in'
    | 'user_sign_out'
    | 'user_created'
    | 'user_invited'
    | 'user_disabled'
    | 'user_password_set';
  readonly decision: 'allow' | 'deny';
  readonly subject?: string;
  readonly code?: 'unauthenticated' | 'rate_limited' | 'oauth_state_invalid' | 'oauth_issuer_mismatch' | 'oauth_denied';
  /** `[a-z0-9_]`: why, e.g. `wrong_password`, `unknown_user`, `throttled_account`. */
  readonly detail?: string;
  readonly target?: string;
}

/** Budgets of sign-in attempts (IA-07). Every attempt counts, right or wrong, known name or not. */
export interface SignInAttemptLimits {
  /** Per tenant and typed name, per minute (also the burst). */
  readonly perAccountPerMinute: number;
  /** Per tenant and typed name per day: beyond it the name is locked (one more attempt every 1440/n minutes). */
  readonly perAccountPerDay: number;
  /** Per client address, every tenant and name together, per minute (also the burst). */
  readonly perAddressPerMinute: number;
}

export const defaultSignInAttempts: SignInAttemptLimits = {
  perAccountPerMinute: 5,
  perAccountPerDay: 50,
  perAddressPerMinute: 20,
};

export interface UserTenantSettings {
  readonly id: string;
  readonly localEnabled: boolean;
  readonly sessionHours: number;
  /** This tenant's budgets; `attempts` (or the defaults) when absent. */
  readonly signInAttempts?: SignInAttemptLimits;
}

export interface UserAccountsDependencies {
  readonly users: UserRepository;
  readonly sessions: UserSessionRepository;
  readonly clock: Clock;
  /** Counts sign-in attempts (the shared Redis limiter when configured, so every process draws on one budget). */
  readonly limiter: Pick<Limiter, 'admit'>;
  readonly publicUrl: string;
  /** The tenants' settings: a list, or a lookup when tenants come and go at run time (issue 14). */
  readonly tenants: readonly UserTenantSettings[] | ((tenant: string) => UserTenantSettings | undefined);
  readonly attempts?: Partial<SignInAttemptLimits>;
  /**
   * scrypt cost of new hashes (default `passwordHashParameters`: N=2^15, r=8, p=1). Lower only in tests; a hash
   * with lower parameters than these is replaced at its next successful sign-in.
   */
  readonly hashParameters?: PasswordHashParameters;
  /** How long an invite link works. Default 7 days. */
  readonly inviteTtlMs?: number;
  /** Must not throw; awaited so a test sees the record, errors are the caller's to log. */
  readonly onSecurityEvent?: (event: UserSecurityEvent) => Promise<void> | void;
}

export interface UserAccounts {
  /** The user of a valid, unexpired session cookie of this tenant (the `Cookie` header as received), else undefined. */
  signedInUser(tenant: string, cookieHeader: string | undefined): Promise<SignedInUser | undefined>;
  /** The same, with the CSRF token bound to the session. */
  activeSession(tenant: string, cookieHeader: string | undefined): Promise<ActiveSession | undefined>;
  /** Whether `csrfToken` is the one of the session in `cookieHeader` (of any tenant). */
  checkCsrf(cookieHeader: string | undefined, csrfToken: string): boolean;
  /**
   * Signs a local user in: a new session (never the one the browser had: rotation). Unknown name, wrong password,
   * disabled user and user without a password all throw the same `unauthenticated` after the same work; too many
   * attempts throw `rate_limited` (with `retryAfterSeconds`) before any password is checked.
   */
  signInWithPassword(tenant: string, name: string, password: string, address: string): Promise<IssuedSession>;
  /**
   * Signs in the user a tenant's identity provider vouched for (`ssoSubject` = `<issuer> <sub>`), creating them at
   * their first sign-in (the provider is the tenant's own). A disabled user gets `unauthenticated`.
   */
  signInWithIdentity(
    tenant: string,
    identity: { readonly subject: string; readonly name: string; readonly displayName: string },
  ): Promise<IssuedSession>;
  /** Ends the session of `cookieHeader` in this tenant (idempotent). */
  signOut(tenant: string, cookieHeader: string | undefined): Promise<void>;
  /** Creates a local user with an invite link; audited `user_created` naming `actor` (who did it) as the subject. */
  createUser(tenant: string, request: { name: string; displayName?: string }, actor: string): Promise<CreatedUser>;
  /** A new invite link for an existing user (the previous link stops working); audited `user_invited` by `actor`. */
  reinvite(tenant: string, id: string, actor: string): Promise<CreatedUser>;
  listUsers(tenant: string): Promise<readonly UserSummary[]>;
  /** Disables a user and ends all their sessions at once; audited `user_disabled` by `actor`. */
  disableUser(tenant: string, id: string, actor: string): Promise<void>;
  /** The user an unexpired, unused invite token is for, else undefined. */
  openInvite(token: string): Promise<SignedInUser | undefined>;
  /** Sets the password of the invite's user (single use) and signs them in. */
  acceptInvite(token: string, password: string): Promise<IssuedSession>;
  /**
   * The demo user: created active with `password` when missing, its password replaced when it does not verify.
   * For `serve --demo` only.
   */
  ensureLocalUser(tenant: string, name: string, password: string): Promise<void>;
  /** Deletes expired sessions; returns how many. */
  sweep(): Promise<number>;
}

export const sessionCookieName = 'gatehouse_session';

const userNamePattern = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;

/**
 * Local accounts and server-side sessions of end users (issue 16; IA-07). Passwords are scrypt hashes; session ids
 * and invite tokens are stored as SHA-256 only; every failed sign-in writes one security event.
 */
export function createUserAccounts(deps: UserAccountsDependencies): UserAccounts {
  const { users, sessions, clock } = deps;
  const attempts: SignInAttemptLimits = { ...defaultSignInAttempts, ...deps.attempts };
  const inviteTtlMs = deps.inviteTtlMs ?? 7 * 24 * 3_600_000;
  const cost = deps.hashParameters ?? passwordHashParameters;
  const hash = (password: string) => hashPassword(password, cost);
  const listed = typeof deps.tenants === 'function' ? undefined : new Map(deps.tenants.map((t) => [t.id, t]));
  const tenantSettings = typeof deps.tenants === 'function' ? deps.tenants : (tenant: string) => listed?.get(tenant);
  // A hash of a random password with today's parameters: what an unknown name is verified against, so it costs
  // what a known one does (no user enumeration by timing).
  let decoy: Promise<string> | undefined;

  function decoyHash(): Promise<string> {
    decoy ??= hash(createSecretToken());
    return decoy;
  }

  function settingsOf(tenant: string): UserTenantSettings {
    const settings = tenantSettings(tenant);
    if (settings === undefined) throw new GatehouseError('not_found', `No tenant ${tenant}`);
    return settings;
  }

  async function emit(event: UserSecurityEvent): Promise<void> {
    try {
      await deps.onSecurityEvent?.(event);
    } catch {
      // Recording is the gateway's concern; a failed record never changes the answer.
    }
  }

  async function issue(tenant: string, user: UserRecord): Promise<IssuedSession> {
    const settings = settingsOf(tenant);
    const id = createSecretToken();
    const now = clock.now();
    const ttlMs = Math.round(settings.sessionHours * 3_600_000);
    await sessions.insert({
      tenantId: tenant,
      idHash: hashSecretToken(id),
      userId: user.id,
      createdAt: now,
      expiresAt: now + ttlMs,
    });
    return { id, user: toSignedIn(user), maxAgeSeconds: Math.floor(ttlMs / 1000) };
  }

  async function admitAttempt(tenant: string, name: string, address: string) {
    const limits = tenantSettings(tenant)?.signInAttempts ?? attempts;
    const account = `${tenant}:signin:acct:${hashSecretToken(name.toLowerCase()).slice(0, 32)}`;
    const rules: LimitRule[] = [
      {
        kind: 'rate',
        key: `${tenant}:signin:addr:${addressBudgetOf(address)}`,
        limit: 'sign_in.address',
        perMinute: limits.perAddressPerMinute,
        burst: limits.perAddressPerMinute,
      },
      {
        kind: 'rate',
        key: account,
        limit: 'sign_in.account',
        perMinute: limits.perAccountPerMinute,
        burst: limits.perAccountPerMinute,
      },
      {
        kind: 'rate',
        key: `${account}:day`,
        limit: 'sign_in.lockout',
        perMinute: limits.perAccountPerDay / 1440,
        burst: limits.perAccountPerDay,
      },
    ];
    return deps.limiter.admit(rules);
  }

  function toSummary(user: UserRecord): UserSummary {
    return {
      id: user.id,
      name: user.name,
      displayName: user.displayName,
      status: user.status,
      signIn: [
        ...(user.passwordHash !== null ? ['password' as const] : []),
        ...(user.ssoSubject !== null ? ['sso' as const] : []),
      ],
      invitePending: user.inviteHash !== null && (user.inviteExpiresAt ?? 0) > clock.now(),
      createdAt: new Date(user.createdAt).toISOString(),
    };
  }

  async function newInvite(tenant: string, user: UserRecord): Promise<CreatedUser> {
    const token = createSecretToken();
    const now = clock.now();
    const expiresAt = now + inviteTtlMs;
    await users.setInvite(tenant, user.id, hashSecretToken(token), expiresAt, now);
    const fresh = (await users.get(tenant, user.id)) ?? user;
    return {
      user: toSummary(fresh),
      inviteUrl: `${deps.publicUrl}/invite/${token}`,
      inviteExpiresAt: new Date(expiresAt).toISOString(),
    };
  }

  function checkPasswordRules(password: string): void {
    if (password.length < passwordLength.min || password.length > passwordLength.max) {
      throw new GatehouseError(
        'invalid_request',
        `password: expected ${passwordLength.min} to ${passwordLength.max} characters`,
        { field: 'password', min: passwordLength.min, max: passwordLength.max },
      );
    }
  }

  async function activeSession(
    tenant: string,
    cookieHeader: string | undefined,
  ): Promise<(ActiveSession & { idHash: string }) | undefined> {
    if (tenantSettings(tenant) === undefined) return undefined;
    const id = readCookie(cookieHeader, sessionCookieName);
    if (id === undefined || !isWellFormedToken(id)) return undefined;
    const idHash = hashSecretToken(id);
    const found = await sessions.findActive(tenant, idHash, clock.now());
    if (found === undefined) return undefined;
    return { user: toSignedIn(found.user), csrfToken: csrfTokenOf(id), idHash };
  }

  return {
    async signedInUser(tenant, cookieHeader) {
      return (await activeSession(tenant, cookieHeader))?.user;
    },

    async activeSession(tenant, cookieHeader) {
      const found = await activeSession(tenant, cookieHeader);
      return found && { user: found.user, csrfToken: found.csrfToken };
    },

    checkCsrf(cookieHeader, csrfToken) {
      const id = readCookie(cookieHeader, sessionCookieName);
      return id !== undefined && isWellFormedToken(id) && sameToken(csrfTokenOf(id), csrfToken);
    },

    async signInWithPassword(tenant, name, password, address) {
      const settings = settingsOf(tenant);
      if (!settings.localEnabled) {
        throw new GatehouseError('not_found', `Tenant ${tenant} has no local sign-in`);
      }
      const typed = name.trim();
      const admitted = await admitAttempt(tenant, typed, address);
      if (!admitted.admitted) {
        await emit({
          tenant,
          event: 'user_sign_in',
          decision: 'deny',
          code: 'rate_limited',
          detail:
            admitted.limit === 'sign_in.address'
              ? 'throttled_address'
              : admitted.limit === 'sign_in.lockout'
                ? 'locked_account'
                : 'throttled_account',
          target: 'signin:local',
        });
        throw new GatehouseError('rate_limited', 'Too many sign-in attempts; try again later', {
          retryAfterSeconds: admitted.retryAfterSeconds,
        });
      }
      admitted.release();
      const user = userNamePattern.test(typed) ? await users.findByName(tenant, typed) : undefined;
      const stored = user?.passwordHash ?? (await decoyHash());
      const matches = await verifyPassword(password.slice(0, passwordLength.max), stored);
      const reason =
        user === undefined
          ? 'unknown_user'
          : user.passwordHash === null
            ? 'no_password'
            : !matches
              ? 'wrong_password'
              : user.status !== 'active'
                ? 'disabled'
                : undefined;
      if (reason !== undefined || user === undefined) {
        await emit({
          tenant,
          event: 'user_sign_in',
          decision: 'deny',
          code: 'unauthenticated',
          detail: reason ?? 'unknown_user',
          target: 'signin:local',
          ...(user === undefined ? {} : { subject: user.id }),
        });
        throw new GatehouseError('unauthenticated', 'Wrong name or password');
      }
      if (passwordNeedsRehash(stored, cost))
        await users.setPassword(tenant, user.id, await hash(password), clock.now());
      const session = await issue(tenant, user);
      await emit({
        tenant,
        event: 'user_sign_in',
        decision: 'allow',
        subject: user.id,
        detail: 'password',
        target: 'signin:local',
      });
      return session;
    },

    async signInWithIdentity(tenant, identity) {
      settingsOf(tenant);
      let user = await users.findBySsoSubject(tenant, identity.subject);
      if (user === undefined) {
        const base = toUserName(identity.name);
        const now = clock.now();
        // A local user of the same name is never linked to a provider account (that would let whoever controls
        // the provider account take over the local one): the new user gets a suffixed name instead.
        for (const name of [base, `${base.slice(0, 90)}-${hashSecretToken(identity.subject).slice(0, 6)}`]) {
          const record: UserRecord = {
            tenantId: tenant,
            id: `usr_${createId(12)}`,
            name,
            displayName: identity.displayName.slice(0, 200) || name,
            status: 'active',
            passwordHash: null,
            ssoSubject: identity.subject,
            inviteHash: null,
            inviteExpiresAt: null,
            createdAt: now,
            updatedAt: now,
          };
          if (await users.insert(record)) {
            await emit({
              tenant,
              event: 'user_created',
              decision: 'allow',
              subject: record.id,
              detail: 'sso',
              target: `user:${record.id}`,
            });
            break;
          }
        }
        user = await users.findBySsoSubject(tenant, identity.subject);
        if (user === undefined) throw new GatehouseError('internal', 'The signed-in user could not be stored');
      }
      if (user.status !== 'active') {
        await emit({
          tenant,
          event: 'user_sign_in',
          decision: 'deny',
          code: 'unauthenticated',
          subject: user.id,
          detail: 'disabled',
          target: 'signin:sso',
        });
        throw new GatehouseError('unauthenticated', 'This user is disabled');
      }
      const session = await issue(tenant, user);
      await emit({
        tenant,
        event: 'user_sign_in',
        decision: 'allow',
        subject: user.id,
        detail: 'sso',
        target: 'signin:sso',
      });
      return session;
    },

    async signOut(tenant, cookieHeader) {
      const found = await activeSession(tenant, cookieHeader);
      if (found === undefined) return;
      await sessions.delete(tenant, found.idHash);
      await emit({ tenant, event: 'user_sign_out', decision: 'allow', subject: found.user.id });
    },

    async createUser(tenant, request, actor) {
      settingsOf(tenant);
      const name = request.name.trim();
      if (!userNamePattern.test(name)) {
        throw new GatehouseError(
          'invalid_request',
          'name: expected 1 to 100 letters, digits or . _ @ + -, starting with a letter or digit',
          { field: 'name' },
        );
      }
      const displayName = (request.displayName ?? name).trim().slice(0, 200) || name;
      const now = clock.now();
      const record: UserRecord = {
        tenantId: tenant,
        id: `usr_${createId(12)}`,
        name,
        displayName,
        status: 'active',
        passwordHash: null,
        ssoSubject: null,
        inviteHash: null,
        inviteExpiresAt: null,
        createdAt: now,
        updatedAt: now,
      };
      if (!(await users.insert(record))) {
        throw new GatehouseError('invalid_request', `name: tenant ${tenant} already has a user '${name}'`, {
          field: 'name',
        });
      }
      await emit({ tenant, event: 'user_created', decision: 'allow', subject: actor, target: `user:${record.id}` });
      return newInvite(tenant, record);
    },

    async reinvite(tenant, id, actor) {
      settingsOf(tenant);
      const user = await users.get(tenant, id);
      if (user === undefined) throw new GatehouseError('not_found', `No user ${id}`);
      const invited = await newInvite(tenant, user);
      await emit({ tenant, event: 'user_invited', decision: 'allow', subject: actor, target: `user:${id}` });
      return invited;
    },

    async listUsers(tenant) {
      settingsOf(tenant);
      return (await users.list(tenant)).map(toSummary);
    },

    async disableUser(tenant, id, actor) {
      settingsOf(tenant);
      if (!(await users.setStatus(tenant, id, 'disabled', clock.now()))) {
        throw new GatehouseError('not_found', `No user ${id}`);
      }
      await sessions.deleteForUser(tenant, id);
      await emit({ tenant, event: 'user_disabled', decision: 'allow', subject: actor, target: `user:${id}` });
    },

    async openInvite(token) {
      if (!isWellFormedToken(token)) return undefined;
      const user = await users.findByInvite(hashSecretToken(token), clock.now());
      if (user === undefined || user.status !== 'active' || tenantSettings(user.tenantId) === undefined)
        return undefined;
      return toSignedIn(user);
    },

    async acceptInvite(token, password) {
      const invalid = () =>
        new GatehouseError('not_found', 'This invite link is not valid (used, expired or replaced)');
      if (!isWellFormedToken(token)) throw invalid();
      const inviteHash = hashSecretToken(token);
      const user = await users.findByInvite(inviteHash, clock.now());
      if (user === undefined || user.status !== 'active' || tenantSettings(user.tenantId) === undefined)
        throw invalid();
      checkPasswordRules(password);
      const passwordHash = await hash(password);
      if (!(await users.setPassword(user.tenantId, user.id, passwordHash, clock.now(), inviteHash))) throw invalid();
      // Whoever held a session of this user before the password was (re)set is signed out.
      await sessions.deleteForUser(user.tenantId, user.id);
      await emit({
        tenant: user.tenantId,
        event: 'user_password_set',
        decision: 'allow',
        subject: user.id,
        detail: 'invite',
        target: `user:${user.id}`,
      });
      return issue(user.tenantId, user);
    },

    async ensureLocalUser(tenant, name, password) {
      settingsOf(tenant);
      let user = await users.findByName(tenant, name);
      if (user === undefined) {
        const now = clock.now();
        await users.insert({
          tenantId: tenant,
          id: `usr_${createId(12)}`,
          name,
          displayName: name,
          status: 'active',
          passwordHash: await hash(password),
          ssoSubject: null,
          inviteHash: null,
          inviteExpiresAt: null,
          createdAt: now,
          updatedAt: now,
        });
        user = await users.findByName(tenant, name);
      } else if (user.passwordHash === null || !(await verifyPassword(password, user.passwordHash))) {
        await users.setPassword(tenant, user.id, await hash(password), clock.now());
      }
      if (user !== undefined && user.status !== 'active') await users.setStatus(tenant, user.id, 'active', clock.now());
    },

    sweep: () => sessions.deleteExpired(clock.now()),
  };
}

/** A sign-in name from what a provider proposes: allowed characters only, at most 90. */
function toUserName(proposed: string): string {
  const cleaned = proposed
    .replace(/[^A-Za-z0-9._@+-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 90);
  return cleaned === '' ? 'user' : cleaned;
}

function toSignedIn(user: UserRecord): SignedInUser {
  return { id: user.id, tenant: user.tenantId, name: user.name, displayName: user.displayName };
}

/** One cookie's value from a `Cookie` header (first occurrence), undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
