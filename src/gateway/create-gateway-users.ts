import { type AuditLog, createTenantRecordCap } from '../audit/index.ts';
import type { Clock, Config, TenantConfig } from '../core/index.ts';
import { GatehouseError } from '../core/index.ts';
import type { ConnectFlow } from '../oauth/index.ts';
import type { Limiter, Store } from '../store/index.ts';
import {
  createSsoRelyingParty,
  createUserAccounts,
  createUserRoles,
  readCookie,
  ssoCookieName,
  ssoPendingSeconds,
  type UserAccounts,
  type UserSecurityEvent,
} from '../users/index.ts';
import type { Vault } from '../vault/index.ts';
import type { GatewayUsers } from './contract.ts';
import type { GatewayConnections } from './create-gateway-connections.ts';

export interface GatewayUsersDependencies {
  readonly config: Config;
  /** The tenants served now (they come and go at run time, issue 14); absent: the config's. */
  readonly tenantOf?: (tenantId: string) => TenantConfig | undefined;
  readonly store: Store;
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  readonly clock: Clock;
  readonly limiter: Pick<Limiter, 'admit'>;
  readonly audit: Pick<AuditLog, 'recordSecurityEvent'>;
  readonly connections: Pick<GatewayConnections, 'list'>;
  readonly flow: Pick<ConnectFlow, 'disconnect'>;
  readonly onAuditError?: (error: unknown) => void;
}

/**
 * The end users of every tenant as the transports see them (issue 16): local accounts and sessions (users/),
 * single sign-on through the tenant's provider, and each user's own connections (subject = user id).
 * Refusals anyone can cause (failed sign-ins, forged forms, SSO callbacks that do not check out) are recorded once
 * each, within a per-tenant cap per minute like `admin_denied`, so they cannot grow a tenant's log at request rate.
 */
export function createGatewayUsers(deps: GatewayUsersDependencies): GatewayUsers {
  const { config, store, clock } = deps;
  const tenantConfigOf = deps.tenantOf ?? ((id: string) => config.tenants.find((t) => t.id === id));
  const admitRefusal = createTenantRecordCap({ now: () => clock.now() });

  function record(event: UserSecurityEvent | Parameters<AuditLog['recordSecurityEvent']>[0]): Promise<void> {
    if (tenantConfigOf(event.tenant) === undefined) return Promise.resolve();
    if (event.decision === 'deny' && !admitRefusal(event.tenant)) return Promise.resolve();
    return deps.audit.recordSecurityEvent(event).catch((error: unknown) => deps.onAuditError?.(error));
  }

  const accounts = createTenantUserAccounts(config, {
    store,
    clock,
    limiter: deps.limiter,
    onSecurityEvent: record,
    tenantOf: tenantConfigOf,
  });
  const sso = createSsoRelyingParty({
    publicUrl: config.publicUrl,
    settingsOf: (tenant) => tenantConfigOf(tenant)?.users.sso,
    sealer: deps.vault,
    now: () => clock.now(),
  });

  function tenantOf(tenant: string) {
    const found = tenantConfigOf(tenant);
    if (found === undefined) throw new GatehouseError('not_found', `No tenant ${tenant}`);
    return found;
  }

  return {
    secureCookie: config.publicUrl.startsWith('https:'),
    signedInUser: (tenant, cookieHeader) => accounts.signedInUser(tenant, cookieHeader),
    activeSession: (tenant, cookieHeader) => accounts.activeSession(tenant, cookieHeader),
    checkCsrf: (cookieHeader, csrfToken) => accounts.checkCsrf(cookieHeader, csrfToken),
    signInOptions(tenant) {
      const { users } = tenantOf(tenant);
      return {
        tenant,
        local: users.local.enabled,
        ...(users.sso ? { sso: { label: users.sso.label, origin: new URL(users.sso.issuer).origin } } : {}),
      };
    },
    signInWithPassword: (tenant, name, password, address) =>
      accounts.signInWithPassword(tenant, name, password, address),
    signOut: (tenant, cookieHeader) => accounts.signOut(tenant, cookieHeader),

    async startSso(tenant, returnTo) {
      tenantOf(tenant);
      const started = await sso.start(tenant, returnTo);
      return {
        redirectUrl: started.redirectUrl,
        cookie: {
          name: ssoCookieName,
          value: started.cookieValue,
          maxAgeSeconds: ssoPendingSeconds,
          path: `/signin/${encodeURIComponent(tenant)}/sso`,
        },
      };
    },

    async completeSso(tenant, params, cookieHeader) {
      tenantOf(tenant);
      let completed: Awaited<ReturnType<typeof sso.complete>>;
      try {
        completed = await sso.complete(tenant, params, readCookie(cookieHeader, ssoCookieName));
      } catch (error) {
        const gatehouseError = error instanceof GatehouseError ? error : undefined;
        const code = gatehouseError?.code;
        const reason = gatehouseError?.details['reason'];
        await record({
          tenant,
          event: 'user_sign_in',
          decision: 'deny',
          code:
            code === 'oauth_issuer_mismatch' || code === 'oauth_denied' || code === 'oauth_state_invalid'
              ? code
              : 'oauth_state_invalid',
          detail: typeof reason === 'string' ? reason : 'sso_failed',
          target: 'signin:sso',
        });
        throw error;
      }
      const session = await accounts.signInWithIdentity(tenant, completed.identity);
      return { session, returnTo: completed.returnTo };
    },

    openInvite: (token) => accounts.openInvite(token),
    acceptInvite: (token, password) => accounts.acceptInvite(token, password),

    async connectionsOf(user) {
      return (await deps.connections.list(user.tenant)).filter((c) => c.subject === user.id);
    },

    async revokeConnection(user, id) {
      const own = (await deps.connections.list(user.tenant)).find((c) => c.id === id && c.subject === user.id);
      if (own === undefined) throw new GatehouseError('not_found', `No connection ${id}`);
      await deps.flow.disconnect(user.tenant, id, `user:${user.id}`);
    },

    reportRejected(tenant, reason, subject) {
      void record({
        tenant,
        event: 'user_request_rejected',
        decision: 'deny',
        code: 'forbidden_origin',
        detail: reason,
        ...(subject === undefined ? {} : { subject }),
      });
    },

    ensureLocalUser: (tenant, name, password) => accounts.ensureLocalUser(tenant, name, password),
    createUser: (tenant, request, actor) => accounts.createUser(tenant, request, actor),
    reinvite: (tenant, id, actor) => accounts.reinvite(tenant, id, actor),
    listUsers: (tenant) => accounts.listUsers(tenant),
    disableUser: (tenant, id, actor) => accounts.disableUser(tenant, id, actor),
    roles: createUserRoles({
      users: store.users,
      roles: store.userRoles,
      tokens: store.apiTokens,
      clock,
      onSecurityEvent: (event) => record(event),
    }),
  };
}

/**
 * The local accounts of every configured tenant (their `users` settings) over the store: what the gateway and the
 * `gatehouse users` commands use.
 */
export function createTenantUserAccounts(
  config: Config,
  deps: {
    readonly store: Pick<Store, 'users' | 'userSessions'>;
    readonly clock: Clock;
    readonly limiter: Pick<Limiter, 'admit'>;
    readonly onSecurityEvent?: (event: UserSecurityEvent) => Promise<void> | void;
    /** The tenants served now; absent: the config's. */
    readonly tenantOf?: (tenantId: string) => TenantConfig | undefined;
  },
): UserAccounts {
  const tenantOf = deps.tenantOf ?? ((id: string) => config.tenants.find((t) => t.id === id));
  return createUserAccounts({
    users: deps.store.users,
    sessions: deps.store.userSessions,
    clock: deps.clock,
    limiter: deps.limiter,
    publicUrl: config.publicUrl,
    tenants: (id) => {
      const t = tenantOf(id);
      return t === undefined
        ? undefined
        : {
            id: t.id,
            localEnabled: t.users.local.enabled,
            sessionHours: t.users.sessionTtlSeconds / 3_600,
            signInAttempts: t.users.signInAttempts,
          };
    },
    ...(deps.onSecurityEvent ? { onSecurityEvent: deps.onSecurityEvent } : {}),
  });
}
