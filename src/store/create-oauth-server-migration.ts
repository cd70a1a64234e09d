import { type Kysely, type Migration, sql } from 'kysely';
import { tenantSetting } from './create-row-level-security-migration.ts';
import type { StoreFeatures } from './store-features.ts';

/** Row-level security like every tenant table (MT-03/04), for tables created after `0008_row_level_security`. */
async function isolateTenants(db: Kysely<unknown>, features: StoreFeatures, table: string): Promise<void> {
  if (features.dialect !== 'postgres') return;
  const rule = `(tenant_id = current_setting('${tenantSetting}', true) or current_setting('${tenantSetting}', true) = '*')`;
  await sql.raw(`alter table ${table} enable row level security`).execute(db);
  await sql.raw(`alter table ${table} force row level security`).execute(db);
  await sql.raw(`create policy tenant_isolation on ${table} using ${rule} with check ${rule}`).execute(db);
}

/**
 * Migration `0013_oauth_server`: the state of Gatehouse's own authorization server (src/auth-server, on
 * `oidc-provider`).
 * - `oauth_server_records`: every artefact the provider stores (sessions, interactions, grants, authorization
 *   codes, access and refresh tokens, registered clients), keyed by (tenant, model, SHA-256 of the id). The id of
 *   a code or token IS the credential, so only its hash is a key and the payload is a vault envelope. Columns
 *   beside the payload are the non-secret facts the gateway checks a bearer token against without decrypting
 *   (`aud`, `account_id`, `client_id`, `expires_at`) and the lookups the provider needs (`grant_id`, `uid_hash`).
 * - `oauth_server_keys`: each tenant's signing and cookie keys, sealed by the vault (one row; racing processes
 *   agree on the first).
 */
export function createOAuthServerMigration(features: StoreFeatures): Migration {
  const { millis, bytes } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('oauth_server_records')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('id_hash', 'text', (c) => c.notNull())
        .addColumn('payload', bytes, (c) => c.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('uid_hash', 'text')
        .addColumn('aud', 'text')
        .addColumn('account_id', 'text')
        .addColumn('client_id', 'text')
        .addColumn('expires_at', millis)
        .addColumn('consumed_at', millis)
        .addPrimaryKeyConstraint('oauth_server_records_pk', ['tenant_id', 'model', 'id_hash'])
        .execute();
      await db.schema
        .createIndex('oauth_server_records_grant')
        .on('oauth_server_records')
        .columns(['tenant_id', 'grant_id'])
        .execute();
      await db.schema
        .createIndex('oauth_server_records_account')
        .on('oauth_server_records')
        .columns(['tenant_id', 'account_id', 'client_id'])
        .execute();
      await db.schema
        .createIndex('oauth_server_records_expiry')
        .on('oauth_server_records')
        .columns(['expires_at'])
        .execute();
      await db.schema
        .createTable('oauth_server_keys')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('sealed_keys', bytes, (c) => c.notNull())
        .addColumn('created_at', millis, (c) => c.notNull())
        .execute();
      await isolateTenants(db, features, 'oauth_server_records');
      await isolateTenants(db, features, 'oauth_server_keys');
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['oauth_server_keys', 'oauth_server_records']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}

/**
 * Migration `0014_oauth_consents`: what a user agreed to, remembered per (tenant, user, OAuth client, toolset), so
 * the consent page is shown once and the account page can list and revoke it.
 */
export function createOAuthConsentMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('oauth_consents')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('client_name', 'text', (c) => c.notNull())
        .addColumn('toolset', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', millis, (c) => c.notNull())
        .addPrimaryKeyConstraint('oauth_consents_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('oauth_consents_unique', ['tenant_id', 'user_id', 'client_id', 'toolset'])
        .execute();
      await isolateTenants(db, features, 'oauth_consents');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('oauth_consents').ifExists().execute();
    },
  };
}
