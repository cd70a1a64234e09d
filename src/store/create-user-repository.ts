import type { Selectable } from 'kysely';
import type {
  OperatorSessionEndRepository,
  UserRecord,
  UserRepository,
  UserSessionRepository,
  UserStatus,
} from './port.ts';
import { allTenants, type StoreContext } from './store-context.ts';
import type { UsersTable } from './store-database.ts';

/** End users (migration `0016_users`). A duplicate name is a unique-constraint conflict, answered as `false`. */
export function createUserRepository({ run, read }: StoreContext): UserRepository {
  return {
    insert: (record) =>
      run('users.insert', record.tenantId, async (db) => {
        const result = await db
          .insertInto('users')
          .values({
            tenant_id: record.tenantId,
            id: record.id,
            name: record.name,
            display_name: record.displayName,
            status: record.status,
            password_hash: record.passwordHash,
            sso_subject: record.ssoSubject,
            invite_hash: record.inviteHash,
            invite_expires_at: record.inviteExpiresAt,
            created_at: record.createdAt,
            updated_at: record.updatedAt,
          })
          .onConflict((c) => c.doNothing())
          .executeTakeFirst();
        return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
      }),
    get: (tenantId, id) =>
      read('users.get', tenantId, async (db) => {
        const row = await db
          .selectFrom('users')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        return row && toUserRecord(row);
      }),
    findByName: (tenantId, name) =>
      read('users.findByName', tenantId, async (db) => {
        const row = await db
          .selectFrom('users')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('name', '=', name)
          .executeTakeFirst();
        return row && toUserRecord(row);
      }),
    findBySsoSubject: (tenantId, ssoSubject) =>
      read('users.findBySsoSubject', tenantId, async (db) => {
        const row = await db
          .selectFrom('users')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('sso_subject', '=', ssoSubject)
          .executeTakeFirst();
        return row && toUserRecord(row);
      }),
    findByInvite: (inviteHash, at) =>
      read('users.findByInvite', allTenants, async (db) => {
        const row = await db
          .selectFrom('users')
          .selectAll()
          .where('invite_hash', '=', inviteHash)
          .where('invite_expires_at', '>', at)
          .executeTakeFirst();
        return row && toUserRecord(row);
      }),
    list: (tenantId) =>
      read('users.list', tenantId, async (db) => {
        const rows = await db
          .selectFrom('users')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy('name')
          .execute();
        return rows.map(toUserRecord);
      }),
    setPassword: (tenantId, id, passwordHash, at, inviteHash) =>
      run('users.setPassword', tenantId, async (db) => {
        let query = db
          .updateTable('users')
          .set({ password_hash: passwordHash, invite_hash: null, invite_expires_at: null, updated_at: at })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id);
        if (inviteHash !== undefined) {
          query = query.where('invite_hash', '=', inviteHash).where('invite_expires_at', '>', at);
        }
        const result = await query.executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    setInvite: (tenantId, id, inviteHash, expiresAt, at) =>
      run('users.setInvite', tenantId, async (db) => {
        const result = await db
          .updateTable('users')
          .set({ invite_hash: inviteHash, invite_expires_at: expiresAt, updated_at: at })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    setStatus: (tenantId, id, status, at) =>
      run('users.setStatus', tenantId, async (db) => {
        const result = await db
          .updateTable('users')
          .set({ status, updated_at: at })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
  };
}

/** Sessions (migration `0017_user_sessions`); a lookup returns the session only with its active user. */
export function createUserSessionRepository({ run, read }: StoreContext): UserSessionRepository {
  return {
    insert: (record) =>
      run('userSessions.insert', record.tenantId, async (db) => {
        await db
          .insertInto('user_sessions')
          .values({
            tenant_id: record.tenantId,
            id_hash: record.idHash,
            user_id: record.userId,
            created_at: record.createdAt,
            expires_at: record.expiresAt,
          })
          .execute();
      }),
    findActive: (tenantId, idHash, at) =>
      read('userSessions.findActive', tenantId, async (db) => {
        const row = await db
          .selectFrom('user_sessions as s')
          .innerJoin('users as u', (join) =>
            join.onRef('u.tenant_id', '=', 's.tenant_id').onRef('u.id', '=', 's.user_id'),
          )
          .selectAll('u')
          .select([
            's.id_hash as session_id_hash',
            's.created_at as session_created_at',
            's.expires_at as session_expires_at',
          ])
          .where('s.tenant_id', '=', tenantId)
          .where('s.id_hash', '=', idHash)
          .where('s.expires_at', '>', at)
          .where('u.status', '=', 'active')
          .executeTakeFirst();
        if (row === undefined) return undefined;
        return {
          session: {
            tenantId,
            idHash: row.session_id_hash,
            userId: row.id,
            createdAt: Number(row.session_created_at),
            expiresAt: Number(row.session_expires_at),
          },
          user: toUserRecord(row),
        };
      }),
    delete: (tenantId, idHash) =>
      run('userSessions.delete', tenantId, async (db) => {
        const result = await db
          .deleteFrom('user_sessions')
          .where('tenant_id', '=', tenantId)
          .where('id_hash', '=', idHash)
          .executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),
    deleteForUser: (tenantId, userId) =>
      run('userSessions.deleteForUser', tenantId, async (db) => {
        const result = await db
          .deleteFrom('user_sessions')
          .where('tenant_id', '=', tenantId)
          .where('user_id', '=', userId)
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
    deleteExpired: (before) =>
      run('userSessions.deleteExpired', allTenants, async (db) => {
        const result = await db.deleteFrom('user_sessions').where('expires_at', '<', before).executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
  };
}

/** Operator console sessions ended by a sign-out (migration `0036_operator_session_ends`); no tenant's rows. */
export function createOperatorSessionEndRepository({ run, read }: StoreContext): OperatorSessionEndRepository {
  return {
    // Idempotent (a second end of the same session inserts nothing): safe to run again after a lost commit.
    end: (idHash, at, expiresAt) =>
      read('operatorSessionEnds.end', allTenants, async (db) => {
        await db
          .insertInto('operator_session_ends')
          .values({ id_hash: idHash, ended_at: at, expires_at: expiresAt })
          .onConflict((conflict) => conflict.column('id_hash').doNothing())
          .execute();
      }),
    isEnded: (idHash) =>
      read('operatorSessionEnds.isEnded', allTenants, async (db) => {
        const row = await db
          .selectFrom('operator_session_ends')
          .select('id_hash')
          .where('id_hash', '=', idHash)
          .executeTakeFirst();
        return row !== undefined;
      }),
    deleteExpired: (before) =>
      run('operatorSessionEnds.deleteExpired', allTenants, async (db) => {
        const result = await db.deleteFrom('operator_session_ends').where('expires_at', '<', before).executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
  };
}

function toUserRecord(row: Selectable<UsersTable>): UserRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    name: row.name,
    displayName: row.display_name,
    status: row.status as UserStatus,
    passwordHash: row.password_hash,
    ssoSubject: row.sso_subject,
    inviteHash: row.invite_hash,
    inviteExpiresAt: row.invite_expires_at === null ? null : Number(row.invite_expires_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
