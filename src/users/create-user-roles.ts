import { randomBytes } from 'node:crypto';
import { type Clock, createId, GatehouseError } from '../core/index.ts';
import type { ApiTokenRepository, UserRepository, UserRoleRepository } from '../store/index.ts';
import { hashSecretToken } from './session-token.ts';
import { isTenantRole, type TenantRole, tenantRoles } from './tenant-roles.ts';

/** A user authenticated by a personal API token, with their roles in the token's tenant. */
export interface ApiTokenCaller {
  readonly tenant: string;
  readonly userId: string;
  readonly name: string;
  readonly roles: readonly TenantRole[];
  readonly tokenId: string;
}

/** A personal API token as lists show it: never the token or its hash. */
export interface ApiTokenSummary {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly prefix: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** When the token last authenticated, to about a minute (`apiTokenUseGranularityMs`); null: never. */
  readonly lastUsedAt: string | null;
}

/**
 * A token's last use is written at most once per this period: a script calling the admin API many times a
 * second costs one store write a minute, not one per request.
 */
export const apiTokenUseGranularityMs = 60_000;

/** A token just created: `token` is shown once and never stored. */
export interface CreatedApiToken extends ApiTokenSummary {
  readonly token: string;
}

export interface RoleGrant {
  readonly userId: string;
  readonly role: TenantRole;
  readonly grantedAt: string;
  readonly grantedBy: string;
}

/** A change of roles or tokens, for the tenant's audit log (who is `actor`; never a token). */
export interface RoleSecurityEvent {
  readonly tenant: string;
  readonly event: 'role_granted' | 'role_revoked' | 'api_token_created' | 'api_token_revoked';
  readonly decision: 'allow';
  /** Who made the change: `admin` (the operator's token on the admin API), `operator` (the operator in the console) or `user:<id>`. */
  readonly subject: string;
  /** `user:<id>/role:<role>` or `user:<id>/token:<id>`. */
  readonly target: string;
  readonly detail?: string;
}

export interface UserRolesDependencies {
  readonly users: Pick<UserRepository, 'get'>;
  readonly roles: UserRoleRepository;
  readonly tokens: ApiTokenRepository;
  readonly clock: Clock;
  readonly onSecurityEvent?: (event: RoleSecurityEvent) => Promise<void> | void;
}

export interface UserRoles {
  rolesOf(tenant: string, userId: string): Promise<readonly TenantRole[]>;
  listRoles(tenant: string): Promise<readonly RoleGrant[]>;
  /** Grants a role (idempotent); `not_found` for an unknown user, `invalid_request` naming `role` for an unknown role. */
  grantRole(tenant: string, userId: string, role: string, actor: string): Promise<RoleGrant>;
  /** Revokes a role; `not_found` when the user does not hold it. */
  revokeRole(tenant: string, userId: string, role: string, actor: string): Promise<void>;
  /** A new personal API token of a user, shown once. `expiresInDays` absent = no expiry. */
  createApiToken(
    tenant: string,
    userId: string,
    request: { readonly name: string; readonly expiresInDays?: number },
    actor: string,
  ): Promise<CreatedApiToken>;
  listApiTokens(tenant: string, userId?: string): Promise<readonly ApiTokenSummary[]>;
  revokeApiToken(tenant: string, tokenId: string, actor: string): Promise<void>;
  /** The caller of a well-formed, unrevoked, unexpired token of an active user; else undefined. */
  authenticateApiToken(token: string): Promise<ApiTokenCaller | undefined>;
}

/**
 * `gatehouse_pat_<tenant>_<64 hex>`: the public marker lets secret scanners find a leaked token, and the tenant in
 * it lets the lookup stay inside that tenant (row-level security on PostgreSQL).
 */
const tokenPattern = /^gatehouse_pat_([a-z0-9][a-z0-9-]{0,39})_([0-9a-f]{64})$/;

/** Roles of end users and their personal API tokens (issue 14), over the store. */
export function createUserRoles(deps: UserRolesDependencies): UserRoles {
  const { users, roles, tokens, clock } = deps;
  const emit = async (event: RoleSecurityEvent) => {
    await deps.onSecurityEvent?.(event);
  };
  const requireUser = async (tenant: string, userId: string) => {
    const user = await users.get(tenant, userId);
    if (user === undefined) throw new GatehouseError('not_found', `No user ${userId}`);
    return user;
  };
  const requireRole = (role: string): TenantRole => {
    if (!isTenantRole(role)) {
      throw new GatehouseError('invalid_request', `role: expected one of ${tenantRoles.join(', ')}`, { field: 'role' });
    }
    return role;
  };
  return {
    async rolesOf(tenant, userId) {
      return (await roles.list(tenant, userId)).filter(isTenantRole);
    },
    async listRoles(tenant) {
      return (await roles.listTenant(tenant)).flatMap((grant) =>
        isTenantRole(grant.role)
          ? [
              {
                userId: grant.userId,
                role: grant.role,
                grantedAt: new Date(grant.grantedAt).toISOString(),
                grantedBy: grant.grantedBy,
              },
            ]
          : [],
      );
    },
    async grantRole(tenant, userId, role, actor) {
      const checked = requireRole(role);
      await requireUser(tenant, userId);
      const grantedAt = clock.now();
      if (await roles.grant({ tenantId: tenant, userId, role: checked, grantedAt, grantedBy: actor })) {
        await emit({
          tenant,
          event: 'role_granted',
          decision: 'allow',
          subject: actor,
          target: target(userId, checked),
        });
      }
      return { userId, role: checked, grantedAt: new Date(grantedAt).toISOString(), grantedBy: actor };
    },
    async revokeRole(tenant, userId, role, actor) {
      const checked = requireRole(role);
      if (!(await roles.revoke(tenant, userId, checked))) {
        throw new GatehouseError('not_found', `User ${userId} does not hold role ${checked}`);
      }
      await emit({ tenant, event: 'role_revoked', decision: 'allow', subject: actor, target: target(userId, checked) });
    },
    async createApiToken(tenant, userId, request, actor) {
      await requireUser(tenant, userId);
      const name = request.name.trim();
      if (!/^[A-Za-z0-9 ._-]{1,100}$/.test(name)) {
        throw new GatehouseError('invalid_request', 'name: expected 1-100 letters, digits, spaces or ._-', {
          field: 'name',
        });
      }
      const days = request.expiresInDays;
      if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 366)) {
        throw new GatehouseError('invalid_request', 'expiresInDays: expected a whole number of days, 1 to 366', {
          field: 'expiresInDays',
        });
      }
      const random = randomBytes(32).toString('hex');
      const token = `gatehouse_pat_${tenant}_${random}`;
      const now = clock.now();
      const record = {
        tenantId: tenant,
        id: `pat_${createId(12)}`,
        userId,
        name,
        hash: hashSecretToken(token),
        prefix: `gatehouse_pat_${tenant}_${random.slice(0, 4)}`,
        createdAt: now,
        expiresAt: days === undefined ? null : now + days * 86_400_000,
        revokedAt: null,
      };
      if (!(await tokens.insert(record))) {
        throw new GatehouseError('invalid_request', `name: user ${userId} already has a token '${name}'`, {
          field: 'name',
        });
      }
      await emit({
        tenant,
        event: 'api_token_created',
        decision: 'allow',
        subject: actor,
        target: `user:${userId}/token:${record.id}`,
      });
      return { ...toSummary(record), token };
    },
    async listApiTokens(tenant, userId) {
      return (await tokens.list(tenant, userId)).map(toSummary);
    },
    async revokeApiToken(tenant, tokenId, actor) {
      const found = (await tokens.list(tenant)).find((t) => t.id === tokenId);
      if (found === undefined || !(await tokens.revoke(tenant, tokenId, clock.now()))) {
        throw new GatehouseError('not_found', `No active API token ${tokenId}`);
      }
      await emit({
        tenant,
        event: 'api_token_revoked',
        decision: 'allow',
        subject: actor,
        target: `user:${found.userId}/token:${tokenId}`,
      });
    },
    async authenticateApiToken(token) {
      const match = tokenPattern.exec(token);
      if (match === null) return undefined;
      const tenant = match[1] as string;
      const now = clock.now();
      const found = await tokens.findActive(tenant, hashSecretToken(token), now);
      if (found === undefined) return undefined;
      const last = found.token.lastUsedAt;
      if (last === null || now - last >= apiTokenUseGranularityMs) {
        // Informative only: a store that cannot record the use does not refuse a valid token.
        await tokens.recordUse(tenant, found.token.id, now, apiTokenUseGranularityMs).catch(() => undefined);
      }
      return {
        tenant,
        userId: found.user.id,
        name: found.user.name,
        roles: (await roles.list(tenant, found.user.id)).filter(isTenantRole),
        tokenId: found.token.id,
      };
    },
  };
}

function target(userId: string, role: string): string {
  return `user:${userId}/role:${role}`;
}

function toSummary(record: {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly prefix: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsedAt?: number | null;
}): ApiTokenSummary {
  return {
    id: record.id,
    userId: record.userId,
    name: record.name,
    prefix: record.prefix,
    createdAt: new Date(record.createdAt).toISOString(),
    expiresAt: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString(),
    revokedAt: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
    lastUsedAt: (record.lastUsedAt ?? null) === null ? null : new Date(record.lastUsedAt as number).toISOString(),
  };
}
