import type { Kysely, Migration } from 'kysely';
import { isolateTenantTable } from './create-row-level-security-migration.ts';
import type { StoreFeatures } from './store-features.ts';

/**
 * Migration `0031_alert_deliveries` (issue 14): the alerts each tenant raised and what became of them (logged
 * only, queued for the webhook, delivered, failed, dropped), so the admin API and the console show recent ones
 * from whichever process raised them. Ids and counts only, like the alert itself: never arguments or credentials.
 */
export function createAlertDeliveryMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('alert_deliveries')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('about', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('observed', 'integer', (c) => c.notNull())
        .addColumn('threshold', 'integer', (c) => c.notNull())
        .addColumn('raised_at', millis, (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('updated_at', millis, (c) => c.notNull())
        .addPrimaryKeyConstraint('alert_deliveries_pk', ['tenant_id', 'alert_id'])
        .execute();
      await db.schema
        .createIndex('alert_deliveries_recent')
        .on('alert_deliveries')
        .columns(['tenant_id', 'raised_at'])
        .execute();
      if (features.dialect === 'postgres') await isolateTenantTable(db, 'alert_deliveries');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('alert_deliveries').ifExists().execute();
    },
  };
}
