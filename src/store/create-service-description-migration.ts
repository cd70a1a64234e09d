import type { Kysely, Migration } from 'kysely';
import { isolateTenantTable } from './create-row-level-security-migration.ts';
import type { StoreFeatures } from './store-features.ts';

/**
 * Migration `0030_service_descriptions` (issue 14): the description texts of services added through the admin API
 * (uploaded, or fetched from a URL), per tenant and keyed by the SHA-256 of their text. A stored tenant document
 * names one as `stored:<sha256>` in its service's description field, so the document stays small and every process
 * reads the same bytes. Rows are never changed: the same text is the same row.
 */
export function createServiceDescriptionMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('service_descriptions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', millis, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('service_descriptions_pk', ['tenant_id', 'digest'])
        .execute();
      if (features.dialect === 'postgres') await isolateTenantTable(db, 'service_descriptions');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('service_descriptions').ifExists().execute();
    },
  };
}
