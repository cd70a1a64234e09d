import type { Kysely, Migration } from 'kysely';
import { isolateTenantTable } from './create-row-level-security-migration.ts';
import type { StoreFeatures } from './store-features.ts';

/**
 * Migration `0024_tenant_configs` (issue 14): each tenant's configuration as one versioned document, the tenant
 * entry of the config file as written (JSON; secrets stay `${env:...}` references), and the history of every
 * revision with who wrote it and a one-line summary. `revision` grows by one per write; a write names the revision
 * it read, so of two concurrent edits the second is refused instead of silently undoing the first.
 */
export function createTenantConfigMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tenant_configs')
        .addColumn('tenant_id', 'text', (c) => c.notNull().primaryKey())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('updated_at', millis, (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tenant_config_revisions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        // null: the tenant's configuration was deleted at this revision.
        .addColumn('document', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('created_at', millis, (c) => c.notNull())
        .addPrimaryKeyConstraint('tenant_config_revisions_pk', ['tenant_id', 'revision'])
        .execute();
      if (features.dialect === 'postgres') {
        for (const table of ['tenant_configs', 'tenant_config_revisions']) await isolateTenantTable(db, table);
      }
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('tenant_config_revisions').ifExists().execute();
      await db.schema.dropTable('tenant_configs').ifExists().execute();
    },
  };
}
