import { type Kysely, type Migration, sql } from 'kysely';
import { tenantSetting } from './create-row-level-security-migration.ts';
import type { StoreFeatures } from './store-features.ts';

const appendOnly = 'audit checkpoints are append-only';

/**
 * Migration `0009_audit_checkpoints`: `audit_checkpoints` holds each tenant's signed checkpoints of its audit
 * chain, one row per (tenant, seq): the chain hash at that seq and a MAC over it under a per-tenant key that only
 * the vault can unseal (see `sealAuditCheckpoint`), so rewriting the chain without the master key is detected.
 * Append-only like `audit_records`: UPDATE refused, DELETE only at or below the tenant's anchor (retention);
 * row-level security as every tenant table on PostgreSQL (MT-03/04).
 */
export function createAuditCheckpointMigration(features: StoreFeatures): Migration {
  const { millis } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('seq', millis, (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('at', millis, (c) => c.notNull())
        .addColumn('mac', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_checkpoints_pk', ['tenant_id', 'seq'])
        .execute();
      if (features.dialect === 'postgres') {
        // audit_records_guard (0002) allows a DELETE only at or below the tenant's anchor: the same rule fits.
        await sql`create trigger audit_checkpoints_append_only before update or delete on audit_checkpoints
          for each row execute function audit_records_guard()`.execute(db);
        await sql`create trigger audit_checkpoints_no_truncate before truncate on audit_checkpoints
          for each statement execute function audit_records_guard()`.execute(db);
        const rule = `(tenant_id = current_setting('${tenantSetting}', true) or current_setting('${tenantSetting}', true) = '*')`;
        await sql.raw('alter table audit_checkpoints enable row level security').execute(db);
        await sql.raw('alter table audit_checkpoints force row level security').execute(db);
        await sql
          .raw(`create policy tenant_isolation on audit_checkpoints using ${rule} with check ${rule}`)
          .execute(db);
      } else {
        await sql
          .raw(`create trigger audit_checkpoints_no_update before update on audit_checkpoints
            begin select raise(abort, '${appendOnly} (UPDATE refused)'); end`)
          .execute(db);
        await sql
          .raw(`create trigger audit_checkpoints_no_delete before delete on audit_checkpoints
            when old.seq > coalesce((select anchor_seq from audit_heads where tenant_id = old.tenant_id), 0)
            begin select raise(abort, '${appendOnly} (DELETE refused)'); end`)
          .execute(db);
      }
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('audit_checkpoints').ifExists().execute();
    },
  };
}
