import { type Kysely, type Migration, sql } from 'kysely';
import { createAlertDeliveryMigration } from './create-alert-delivery-migration.ts';
import { createAuditAnchorMigration } from './create-audit-anchor-migration.ts';
import { createAuditChainMigration } from './create-audit-chain-migration.ts';
import { createAuditCheckpointMigration } from './create-audit-checkpoint-migration.ts';
import { createConnectFlowMigration } from './create-connect-flow-migration.ts';
import { createOAuthConsentMigration, createOAuthServerMigration } from './create-oauth-server-migration.ts';
import { createRowLevelSecurityMigration, isolateTenantTable } from './create-row-level-security-migration.ts';
import { createServiceDescriptionMigration } from './create-service-description-migration.ts';
import { createTenantConfigMigration } from './create-tenant-config-migration.ts';
import {
  createOperatorSessionEndsMigration,
  createUserApiTokensMigration,
  createUserApiTokenUsesMigration,
  createUserRolesMigration,
  createUserSessionsMigration,
  createUsersMigration,
} from './create-users-migration.ts';
import type { StoreFeatures } from './store-features.ts';

/**
 * The one ordered migration set of both dialects, keyed by name (Kysely runs them in name order). Only the
 * column types differ per dialect. Append new migrations with the next number; never edit a released one.
 *
 * Every tenant-owned table has `tenant_id` first in its primary key. There are no foreign keys to `tenants`:
 * tenants come from configuration and are ensured at start, and the vault and audit write rows keyed by the
 * tenant id they were given; `foreign_keys=ON` is set on SQLite so that later migrations may add some.
 */
export function createMigrations(features: StoreFeatures): Record<string, Migration> {
  const { millis, bytes, float } = features.columnTypes;
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('tenants')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('created_at', millis, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('client_keys')
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('prefix', 'text', (c) => c.notNull())
          .addColumn('toolsets', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('created_at', millis, (c) => c.notNull())
          .addColumn('revoked_at', millis)
          .addPrimaryKeyConstraint('client_keys_pk', ['tenant_id', 'id'])
          .addUniqueConstraint('client_keys_hash_unique', ['hash'])
          .addUniqueConstraint('client_keys_name_unique', ['tenant_id', 'name'])
          .execute();

        await db.schema
          .createTable('data_keys')
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('master_key_version', 'integer', (c) => c.notNull())
          .addColumn('wrapped_key', bytes, (c) => c.notNull())
          .addColumn('created_at', millis, (c) => c.notNull())
          .addPrimaryKeyConstraint('data_keys_pk', ['tenant_id', 'version'])
          .execute();

        await db.schema
          .createTable('secrets')
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('field', 'text', (c) => c.notNull())
          .addColumn('ciphertext', bytes, (c) => c.notNull())
          .addColumn('updated_at', millis, (c) => c.notNull())
          .addPrimaryKeyConstraint('secrets_pk', ['tenant_id', 'owner', 'field'])
          .execute();

        await db.schema
          .createTable('audit_records')
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('seq', millis, (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('at', millis, (c) => c.notNull())
          .addColumn('request_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('toolset', 'text', (c) => c.notNull())
          .addColumn('client_key', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('tool', 'text', (c) => c.notNull())
          .addColumn('method', 'text')
          .addColumn('path_template', 'text')
          .addColumn('decision', 'text', (c) => c.notNull())
          .addColumn('code', 'text')
          .addColumn('upstream_status', 'integer')
          .addColumn('latency_ms', float, (c) => c.notNull())
          .addPrimaryKeyConstraint('audit_records_pk', ['tenant_id', 'seq'])
          .execute();
        await db.schema.createIndex('audit_records_at').on('audit_records').columns(['tenant_id', 'at']).execute();

        if (features.dialect === 'postgres') {
          // The per-tenant `seq` counter (see postgres-features.ts). SQLite needs none: its single writer makes
          // `max(seq) + 1` in one statement atomic.
          await db.schema
            .createTable('audit_sequences')
            .addColumn('tenant_id', 'text', (c) => c.primaryKey())
            .addColumn('last_seq', 'bigint', (c) => c.notNull())
            .execute();
        }
      },
      async down(db: Kysely<unknown>) {
        for (const table of ['audit_sequences', 'audit_records', 'secrets', 'data_keys', 'client_keys', 'tenants']) {
          await db.schema.dropTable(table).ifExists().execute();
        }
      },
    },
    '0002_audit_chain': createAuditChainMigration(features),
    '0003_connections': {
      async up(db: Kysely<unknown>) {
        // Tokens are vault envelopes (never plaintext). token_version fences token writes (RF-03); lock_owner and
        // lock_until are the SQLite refresh lease (PostgreSQL locks the row in a transaction instead).
        await db.schema
          .createTable('connections')
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('service', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('access_token', bytes)
          .addColumn('refresh_token', bytes)
          .addColumn('access_expires_at', millis)
          .addColumn('token_version', millis, (c) => c.notNull())
          .addColumn('refresh_failures', 'integer', (c) => c.notNull())
          .addColumn('refresh_cooldown_until', millis)
          .addColumn('lock_owner', 'text')
          .addColumn('lock_until', millis)
          .addColumn('created_at', millis, (c) => c.notNull())
          .addColumn('updated_at', millis, (c) => c.notNull())
          .addPrimaryKeyConstraint('connections_pk', ['tenant_id', 'id'])
          .addUniqueConstraint('connections_account_unique', ['tenant_id', 'service', 'subject'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('connections').ifExists().execute();
      },
    },
    '0004_connect_flow': createConnectFlowMigration(features),
    '0005_usage_rollups': {
      async up(db: Kysely<unknown>) {
        // One row per tenant, UTC day, toolset and tool; counts are added by batched upserts.
        await db.schema
          .createTable('usage_daily')
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('day', 'text', (c) => c.notNull())
          .addColumn('toolset', 'text', (c) => c.notNull())
          .addColumn('tool', 'text', (c) => c.notNull())
          .addColumn('calls', millis, (c) => c.notNull())
          .addColumn('errors', millis, (c) => c.notNull())
          .addColumn('denials', millis, (c) => c.notNull())
          .addPrimaryKeyConstraint('usage_daily_pk', ['tenant_id', 'day', 'toolset', 'tool'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('usage_daily').ifExists().execute();
      },
    },
    '0006_approvals': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('approvals')
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('toolset', 'text', (c) => c.notNull())
          .addColumn('tool', 'text', (c) => c.notNull())
          .addColumn('client_key_id', 'text', (c) => c.notNull())
          .addColumn('client_key_name', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('args_hash', 'text', (c) => c.notNull())
          .addColumn('args_json', 'text', (c) => c.notNull())
          .addColumn('sealed_link_token', bytes, (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('requested_at', millis, (c) => c.notNull())
          .addColumn('expires_at', millis, (c) => c.notNull())
          .addColumn('decided_by', 'text')
          .addColumn('decided_at', millis)
          .addColumn('consumed_at', millis)
          .addPrimaryKeyConstraint('approvals_pk', ['tenant_id', 'id'])
          .execute();
        await db.schema
          .createIndex('approvals_binding')
          .on('approvals')
          .columns(['tenant_id', 'args_hash', 'tool', 'client_key_id', 'subject'])
          .execute();
        await db.schema
          .createIndex('approvals_requested')
          .on('approvals')
          .columns(['tenant_id', 'requested_at'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('approvals').ifExists().execute();
      },
    },
    '0008_row_level_security': createRowLevelSecurityMigration(features),
    '0009_audit_checkpoints': createAuditCheckpointMigration(features),
    '0010_client_key_prefix': {
      async up(db: Kysely<unknown>) {
        // Issue 17, finding 8(e): `prefix` held the first 16 characters of the key, which for an operator-supplied
        // key (the `config-<name>` rows) is a large part of the secret. Those rows now carry a short hash label
        // (what `labelClientKey` gives any key without the generated form); the next start rewrites the label of
        // a configured key from the key itself. Generated keys (`keys create`) stored `gatehouse_sk_` plus 3
        // random characters, within the new rule, and are cut to that form again in case one was longer.
        await sql`update client_keys set prefix = 'sha256:' || substr(hash, 1, 8) where id like 'config-%'`.execute(db);
        await sql`update client_keys set prefix = substr(prefix, 1, 17) where id not like 'config-%' and substr(prefix, 1, 13) = 'gatehouse_sk_'`.execute(
          db,
        );
        await sql`update client_keys set prefix = 'sha256:' || substr(hash, 1, 8) where id not like 'config-%' and substr(prefix, 1, 13) <> 'gatehouse_sk_'`.execute(
          db,
        );
      },
      async down() {
        // The replaced characters are gone (that is the point); nothing to restore.
      },
    },
    '0011_client_key_revocations': {
      async up(db: Kysely<unknown>) {
        // A revocation is of a key VALUE. The `client_keys` row of a configured key holds the hash of whatever
        // value the last start wrote, so after a rotation (K1 revoked, K2 written) a start with the previous
        // config saw K1 as a new key and wrote it active again (review break of finding 3). One tombstone per
        // revoked hash and tenant outlives the row; a start never writes a tombstoned hash as active.
        await db.schema
          .createTable('client_key_revocations')
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('revoked_at', millis, (c) => c.notNull())
          .addPrimaryKeyConstraint('client_key_revocations_pk', ['tenant_id', 'hash'])
          .execute();
        await sql`insert into client_key_revocations (tenant_id, hash, key_id, revoked_at)
          select tenant_id, hash, id, revoked_at from client_keys where revoked_at is not null`.execute(db);
        // Row-level security like every tenant table (MT-03/04).
        if (features.dialect === 'postgres') await isolateTenantTable(db, 'client_key_revocations');
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('client_key_revocations').ifExists().execute();
      },
    },
    '0012_audit_anchor_mac': createAuditAnchorMigration(features),
    '0013_oauth_server': createOAuthServerMigration(features),
    '0014_oauth_consents': createOAuthConsentMigration(features),
    '0015_user_api_token_uses': createUserApiTokenUsesMigration(features),
    '0016_users': createUsersMigration(features),
    '0017_user_sessions': createUserSessionsMigration(features),
    '0018_connection_variables': {
      async up(db: Kysely<unknown>) {
        // Per-connection base URL variables (Salesforce instanceUrl, Atlassian cloudId) as a JSON object; not
        // secret. Null on rows made before: a service that needs a variable asks such a connection to reconnect.
        await db.schema.alterTable('connections').addColumn('variables', 'text').execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.alterTable('connections').dropColumn('variables').execute();
      },
    },
    '0024_tenant_configs': createTenantConfigMigration(features),
    '0027_user_roles': createUserRolesMigration(features),
    '0028_user_api_tokens': createUserApiTokensMigration(features),
    '0029_audit_console_indexes': {
      async up(db: Kysely<unknown>) {
        // The overview's mean latency per day comes from the daily rollup, not from 14 days of audit records.
        await db.schema
          .alterTable('usage_daily')
          .addColumn('latency_ms_total', features.columnTypes.float, (c) => c.notNull().defaultTo(0))
          .execute();
        // The console's overview aggregates a tenant's tool calls per hour: an index holding every column it reads
        // answers it without a table lookup per record (issue 14: <= 50 ms with 100,000 records).
        await db.schema
          .createIndex('audit_records_summary')
          .on('audit_records')
          .columns(['tenant_id', 'kind', 'at', 'decision', 'latency_ms'])
          .execute();
        // The audit page filtered by one tool, newest first, without scanning the log for its rare records.
        await db.schema
          .createIndex('audit_records_tool')
          .on('audit_records')
          .columns(['tenant_id', 'tool', 'seq'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropIndex('audit_records_tool').ifExists().execute();
        await db.schema.dropIndex('audit_records_summary').ifExists().execute();
        await db.schema.alterTable('usage_daily').dropColumn('latency_ms_total').execute();
      },
    },
    '0030_service_descriptions': createServiceDescriptionMigration(features),
    '0031_alert_deliveries': createAlertDeliveryMigration(features),
    '0032_approval_tasks': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('approval_tasks')
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('toolset', 'text', (c) => c.notNull())
          .addColumn('client_key_id', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('tool', 'text', (c) => c.notNull())
          .addColumn('args_json', 'text', (c) => c.notNull())
          .addColumn('request_id', 'text', (c) => c.notNull())
          .addColumn('approval_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('sealed_outcome', bytes)
          .addColumn('created_at', millis, (c) => c.notNull())
          .addColumn('updated_at', millis, (c) => c.notNull())
          .addColumn('expires_at', millis, (c) => c.notNull())
          .addPrimaryKeyConstraint('approval_tasks_pk', ['tenant_id', 'id'])
          .execute();
        if (features.dialect === 'postgres') await isolateTenantTable(db, 'approval_tasks');
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('approval_tasks').ifExists().execute();
      },
    },
    '0034_connection_last_error': {
      async up(db: Kysely<unknown>) {
        // Why a connection's last refresh failed (issue 14): a code and a message in the gateway's own words,
        // shown on the console's Connections page and in the admin API; cleared by a good refresh.
        await db.schema.alterTable('connections').addColumn('last_error_code', 'text').execute();
        await db.schema.alterTable('connections').addColumn('last_error_message', 'text').execute();
        await db.schema.alterTable('connections').addColumn('last_error_at', millis).execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.alterTable('connections').dropColumn('last_error_at').execute();
        await db.schema.alterTable('connections').dropColumn('last_error_message').execute();
        await db.schema.alterTable('connections').dropColumn('last_error_code').execute();
      },
    },
    '0035_connect_outcomes': {
      async up(db: Kysely<unknown>) {
        // Issue 11. `site_choice`: the tokens and site list of an Atlassian account with several sites, sealed by
        // the vault, held until the person picks one on the chooser page (single use, cleared when taken).
        // `failure`: why a consumed authorization did not complete (a short code), so a reload of its callback
        // says so instead of "already completed".
        await db.schema.alterTable('oauth_authorizations').addColumn('site_choice', bytes).execute();
        await db.schema.alterTable('oauth_authorizations').addColumn('failure', 'text').execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.alterTable('oauth_authorizations').dropColumn('failure').execute();
        await db.schema.alterTable('oauth_authorizations').dropColumn('site_choice').execute();
      },
    },
    '0036_operator_session_ends': createOperatorSessionEndsMigration(features),
  };
}
