import type { Kysely, Migration } from 'kysely';
import type { StoreFeatures } from './store-features.ts';

/**
 * Migration `0004_connect_flow`: the short-lived state of the OAuth connect flow.
 * - `connect_links`: signed, single-use links (`/connect/<id>?sig=...`) a person opens to connect an account;
 * - `oauth_authorizations`: one pending authorization per redirect to an authorization server, keyed by the
 *   SHA-256 of its `state`, holding the PKCE verifier as a vault envelope and the hash of the browser-session
 *   cookie it is bound to;
 * - `connect_keys`: each tenant's link-signing key, sealed by the vault.
 * No plaintext secret lives in any of them.
 */
export function createConnectFlowMigration(features: StoreFeatures): Migration {
  const { millis, bytes } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('connect_links')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('return_to', 'text')
        .addColumn('expires_at', millis, (c) => c.notNull())
        .addColumn('used_at', millis)
        .addColumn('created_at', millis, (c) => c.notNull())
        .addPrimaryKeyConstraint('connect_links_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createTable('oauth_authorizations')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('state_hash', 'text', (c) => c.notNull())
        .addColumn('link_id', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('code_verifier', bytes, (c) => c.notNull())
        .addColumn('session_hash', 'text', (c) => c.notNull())
        .addColumn('expires_at', millis, (c) => c.notNull())
        .addColumn('consumed_at', millis)
        .addColumn('created_at', millis, (c) => c.notNull())
        .addPrimaryKeyConstraint('oauth_authorizations_pk', ['tenant_id', 'state_hash'])
        .execute();
      await db.schema
        .createTable('connect_keys')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('sealed_key', bytes, (c) => c.notNull())
        .addColumn('created_at', millis, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['connect_keys', 'oauth_authorizations', 'connect_links']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
