import type { Selectable } from 'kysely';
import type { ApiTokenRecord, ApiTokenRepository, UserRecord, UserRoleRepository, UserStatus } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { UserApiTokensTable, UserApiTokenUsesTable } from './store-database.ts';

/** Roles of end users (migration `0027_user_roles`). A grant already held is a conflict, answered as `false`. */
export function createUserRoleRepository({ run, read }: StoreContext): UserRoleRepository {
  return {
    list: (tenantId, userId) =>
      read('userRoles.list', tenantId, async (db) => {
        const rows = await db
          .selectFrom('user_roles')
          .select('role')
          .where('tenant_id', '=', tenantId)
          .where('user_id', '=', userId)
          .orderBy('role')
          .execute();
        return rows.map((row) => row.role);
      }),
    listTenant: (tenantId) =>
      read('userRoles.listTenant', tenantId, async (db) => {
        const rows = await db
          .selectFrom('user_roles')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy('user_id')
          .orderBy('role')
          .execute();
        return rows.map((row) => ({
          tenantId: row.tenant_id,
          userId: row.user_id,
          role: row.role,
          grantedAt: Number(row.granted_at),
          grantedBy: row.granted_by,
        }));
      }),
    grant: (record) =>
      run('userRoles.grant', record.tenantId, async (db) => {
        const result = await db
          .insertInto('user_roles')
          .values({
            tenant_id: record.tenantId,
            user_id: record.userId,
            role: record.role,
            granted_at: record.grantedAt,
            granted_by: record.grantedBy,
          })
          .onConflict((c) => c.doNothing())
          .executeTakeFirst();
        return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
      }),
    revoke: (tenantId, userId, role) =>
      run('userRoles.revoke', tenantId, async (db) => {
        const result = await db
          .deleteFrom('user_roles')
          .where('tenant_id', '=', tenantId)
          .where('user_id', '=', userId)
          .where('role', '=', role)
          .executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),
  };
}

/** Personal API tokens (migration `0028_user_api_tokens`); a lookup returns the token only with its active user. */
export function createApiTokenRepository({ run, read }: StoreContext): ApiTokenRepository {
  return {
    insert: (record) =>
      run('apiTokens.insert', record.tenantId, async (db) => {
        const result = await db
          .insertInto('user_api_tokens')
          .values({
            tenant_id: record.tenantId,
            id: record.id,
            user_id: record.userId,
            name: record.name,
            hash: record.hash,
            prefix: record.prefix,
            created_at: record.createdAt,
            expires_at: record.expiresAt,
            revoked_at: record.revokedAt,
          })
          .onConflict((c) => c.doNothing())
          .executeTakeFirst();
        return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
      }),
    findActive: (tenantId, hash, at) =>
      read('apiTokens.findActive', tenantId, async (db) => {
        const row = await db
          .selectFrom('user_api_tokens as t')
          .innerJoin('users as u', (join) =>
            join.onRef('u.tenant_id', '=', 't.tenant_id').onRef('u.id', '=', 't.user_id'),
          )
          .leftJoin('user_api_token_uses as used', (join) =>
            join.onRef('used.tenant_id', '=', 't.tenant_id').onRef('used.token_id', '=', 't.id'),
          )
          .selectAll('t')
          .select([
            'used.last_used_at',
            'u.name as user_name',
            'u.display_name as user_display_name',
            'u.status as user_status',
            'u.password_hash as user_password_hash',
            'u.sso_subject as user_sso_subject',
            'u.invite_hash as user_invite_hash',
            'u.invite_expires_at as user_invite_expires_at',
            'u.created_at as user_created_at',
            'u.updated_at as user_updated_at',
          ])
          .where('t.tenant_id', '=', tenantId)
          .where('t.hash', '=', hash)
          .where('t.revoked_at', 'is', null)
          .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', at)]))
          .where('u.status', '=', 'active')
          .executeTakeFirst();
        if (row === undefined) return undefined;
        const user: UserRecord = {
          tenantId,
          id: row.user_id,
          name: row.user_name,
          displayName: row.user_display_name,
          status: row.user_status as UserStatus,
          passwordHash: row.user_password_hash,
          ssoSubject: row.user_sso_subject,
          inviteHash: row.user_invite_hash,
          inviteExpiresAt: row.user_invite_expires_at === null ? null : Number(row.user_invite_expires_at),
          createdAt: Number(row.user_created_at),
          updatedAt: Number(row.user_updated_at),
        };
        return { token: toApiTokenRecord(row), user };
      }),
    list: (tenantId, userId) =>
      read('apiTokens.list', tenantId, async (db) => {
        let query = db
          .selectFrom('user_api_tokens as t')
          .leftJoin('user_api_token_uses as used', (join) =>
            join.onRef('used.tenant_id', '=', 't.tenant_id').onRef('used.token_id', '=', 't.id'),
          )
          .selectAll('t')
          .select('used.last_used_at')
          .where('t.tenant_id', '=', tenantId);
        if (userId !== undefined) query = query.where('t.user_id', '=', userId);
        const rows = await query.orderBy('t.created_at', 'desc').orderBy('t.id').execute();
        return rows.map(toApiTokenRecord);
      }),
    revoke: (tenantId, id, at) =>
      run('apiTokens.revoke', tenantId, async (db) => {
        const result = await db
          .updateTable('user_api_tokens')
          .set({ revoked_at: at })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    recordUse: (tenantId, tokenId, at, granularityMs) =>
      run('apiTokens.recordUse', tenantId, async (db) => {
        // One statement, so two processes seeing uses at once write at most once per period between them.
        await db
          .insertInto('user_api_token_uses')
          .values({ tenant_id: tenantId, token_id: tokenId, last_used_at: at })
          .onConflict((c) =>
            c
              .columns(['tenant_id', 'token_id'])
              .doUpdateSet({ last_used_at: at })
              .where('user_api_token_uses.last_used_at', '<=', at - granularityMs),
          )
          .execute();
      }),
  };
}

function toApiTokenRecord(
  row: Selectable<UserApiTokensTable> & {
    readonly last_used_at: Selectable<UserApiTokenUsesTable>['last_used_at'] | null;
  },
): ApiTokenRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    userId: row.user_id,
    name: row.name,
    hash: row.hash,
    prefix: row.prefix,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}
