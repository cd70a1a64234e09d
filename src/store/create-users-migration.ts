import { type Kysely, type Migration, sql } from 'kysely';
import { tenantSetting } from './create-row-level-security-migration.ts';
import type { StoreFeatures } from './store-features.ts';

/** Row-level security like every tenant table (MT-03/04), for a table added after `0008_row_level_security`. */
async function enableRowLevelSecurity(db: Kysely<unknown>, features: StoreFeatures, table: string): Promise<void> {
  if (features.dialect !== 'postgres') return;
  const rule = `(tenant_id = current_setting('${tenantSetting}', true) or current_setting('${tenantSetting}', true) = '*')`;
  await sql.raw(`alter table ${table} enable row level security`).execute(db);
  await sql.raw(`alter table ${table} force row level security`).execute(db);
  await sql.raw(`create policy tenant_isolation on ${table} using ${rule} with check ${rule}`).execute(db);
}

/**
 * Migration `0016_users`: the end users of each tenant (issue 16). A local user's password is a self-describing
 * scrypt hash (never the password); an SSO user is keyed by `<issuer> <sub>`; a pending invite is the SHA-256 of
 * its token and an expiry.
 */
export function createUsersMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('sso_subject', 'text')
        .addColumn('invite_hash', 'text')
        .addColumn('invite_expires_at', millis)
        .addColumn('created_at', millis, (c) => c.notNull())
        .addColumn('updated_at', millis, (c) => c.notNull())
        .addPrimaryKeyConstraint('users_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('users_name_unique', ['tenant_id', 'name'])
        .addUniqueConstraint('users_sso_subject_unique', ['tenant_id', 'sso_subject'])
        .execute();
      await db.schema.createIndex('users_invite').on('users').columns(['invite_hash']).execute();
      await enableRowLevelSecurity(db, features, 'users');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('users').ifExists().execute();
    },
  };
}

/**
 * Migration `0017_user_sessions`: server-side sign-in sessions. The browser's cookie holds a random id; the row is
 * keyed by its SHA-256, so a copy of the table signs nobody in.
 */
export function createUserSessionsMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('user_sessions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id_hash', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created_at', millis, (c) => c.notNull())
        .addColumn('expires_at', millis, (c) => c.notNull())
        .addPrimaryKeyConstraint('user_sessions_pk', ['tenant_id', 'id_hash'])
        .execute();
      await db.schema.createIndex('user_sessions_user').on('user_sessions').columns(['tenant_id', 'user_id']).execute();
      await db.schema.createIndex('user_sessions_expiry').on('user_sessions').columns(['expires_at']).execute();
      await enableRowLevelSecurity(db, features, 'user_sessions');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('user_sessions').ifExists().execute();
    },
  };
}

/**
 * Migration `0027_user_roles`: the roles a user holds in their tenant (`owner`, `admin`, `approver`, `member`,
 * `auditor`; users/ owns the list). One row per grant, with who granted it and when.
 */
export function createUserRolesMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('user_roles')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('granted_at', millis, (c) => c.notNull())
        .addColumn('granted_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_roles_pk', ['tenant_id', 'user_id', 'role'])
        .execute();
      await enableRowLevelSecurity(db, features, 'user_roles');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('user_roles').ifExists().execute();
    },
  };
}

/**
 * Migration `0028_user_api_tokens`: personal API tokens for scripts calling the admin API as a user. Only the
 * SHA-256 of a token is kept (the token is shown once); looked up by (tenant, hash), the tenant being part of the
 * token, so row-level security holds for the lookup too.
 */
export function createUserApiTokensMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('user_api_tokens')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('created_at', millis, (c) => c.notNull())
        .addColumn('expires_at', millis)
        .addColumn('revoked_at', millis)
        .addPrimaryKeyConstraint('user_api_tokens_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('user_api_tokens_hash_unique', ['tenant_id', 'hash'])
        .addUniqueConstraint('user_api_tokens_name_unique', ['tenant_id', 'user_id', 'name'])
        .execute();
      await enableRowLevelSecurity(db, features, 'user_api_tokens');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('user_api_tokens').ifExists().execute();
    },
  };
}

/**
 * Migration `0015_user_api_token_uses`: when each personal API token last authenticated, in a table of its own.
 * A column of `user_api_tokens` is not possible under this number: migrations run in name order on a new store,
 * so `0015` runs before `0028_user_api_tokens` creates that table. One row per token that was used, written at
 * most about once a minute per token (`ApiTokenRepository.recordUse`).
 */
export function createUserApiTokenUsesMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('user_api_token_uses')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('token_id', 'text', (c) => c.notNull())
        .addColumn('last_used_at', millis, (c) => c.notNull())
        .addPrimaryKeyConstraint('user_api_token_uses_pk', ['tenant_id', 'token_id'])
        .execute();
      await enableRowLevelSecurity(db, features, 'user_api_token_uses');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('user_api_token_uses').ifExists().execute();
    },
  };
}

/**
 * Migration `0036_operator_session_ends` (finding operator_cookie_outlives_sign_out): the operator's console
 * sessions that were signed out before their cookie expired. The cookie itself is a sealed, stateless token that
 * every process checks alone; a row here, keyed by the SHA-256 of the whole cookie value (so the table signs
 * nobody in), makes every process of the fleet refuse that cookie from then on. A row is useless once the cookie
 * has expired (`expires_at`, at most 8 hours after sign-in) and is swept then. Not a tenant's table: the operator
 * belongs to no tenant, so there is no `tenant_id` and no row-level security.
 */
export function createOperatorSessionEndsMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('operator_session_ends')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('ended_at', millis, (c) => c.notNull())
        .addColumn('expires_at', millis, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('operator_session_ends_expiry')
        .on('operator_session_ends')
        .columns(['expires_at'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('operator_session_ends').ifExists().execute();
    },
  };
}
