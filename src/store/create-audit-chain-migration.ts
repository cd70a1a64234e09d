import { type Kysely, type Migration, sql } from 'kysely';
import type { StoreFeatures } from './store-features.ts';

/** `prev_hash` of a tenant's first chained record (and the anchor hash of pre-chain rows). */
export const auditGenesisHash = '0'.repeat(64);

const appendOnly = 'audit records are append-only';

/**
 * Migration `0002_audit_chain` (AU-04):
 * - `audit_records` gains the security-event columns (`event`, `detail`, `target`, `fingerprint`) and the chain
 *   (`prev_hash`, `hash`);
 * - `audit_heads` holds each tenant's chain head (last seq and hash) and anchor (where verification starts), and is
 *   the row every append locks; it replaces PostgreSQL's `audit_sequences` counter, which is dropped;
 * - `audit_keys` holds each tenant's fingerprint key, sealed by the vault;
 * - triggers refuse UPDATE of audit rows and DELETE of rows above the tenant's anchor (TRUNCATE too on
 *   PostgreSQL), and a head that moves backwards.
 *
 * Rows written before this migration are pre-chain: they keep null hashes and are not chained after the fact
 * (hashing them now would certify content that was never protected). Each tenant's head is anchored at its last
 * pre-chain seq with the genesis hash, so `verifyAuditChain` starts after them and reports how many there are.
 *
 * Why triggers and not only grants: a REVOKE does not bind the table owner, and many deployments run the app as the
 * owner; a trigger fires for every role, owner included. Only a role able to `ALTER TABLE ... DISABLE TRIGGER` (the
 * owner or a superuser) can bypass it, which is a deliberate, visible DDL act.
 */
export function createAuditChainMigration(features: StoreFeatures): Migration {
  const { millis, bytes } = features.columnTypes;
  return {
    async up(db: Kysely<unknown>) {
      for (const column of ['event', 'detail', 'target', 'fingerprint', 'prev_hash', 'hash']) {
        await db.schema.alterTable('audit_records').addColumn(column, 'text').execute();
      }
      await db.schema
        .createTable('audit_heads')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('seq', millis, (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('anchor_seq', millis, (c) => c.notNull())
        .addColumn('anchor_hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_keys')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('sealed_key', bytes, (c) => c.notNull())
        .addColumn('created_at', millis, (c) => c.notNull())
        .execute();
      await sql`insert into audit_heads (tenant_id, seq, hash, anchor_seq, anchor_hash)
        select tenant_id, max(seq), ${auditGenesisHash}, max(seq), ${auditGenesisHash}
        from audit_records group by tenant_id`.execute(db);
      await db.schema
        .createIndex('audit_records_subject')
        .on('audit_records')
        .columns(['tenant_id', 'subject'])
        .execute();

      if (features.dialect === 'postgres') {
        await db.schema.dropTable('audit_sequences').ifExists().execute();
        // `set search_path from current` pins the schema the function was created in, so the guard reads the right
        // audit_heads whatever search_path the session that fires it has.
        await sql
          .raw(`create function audit_records_guard() returns trigger language plpgsql
            set search_path from current as $$
            begin
              if tg_op = 'DELETE' and old.seq <= coalesce(
                (select anchor_seq from audit_heads where tenant_id = old.tenant_id), 0) then
                return old;
              end if;
              raise exception '${appendOnly} (% refused)', tg_op using errcode = '42501';
            end $$`)
          .execute(db);
        await sql
          .raw(`create function audit_heads_guard() returns trigger language plpgsql as $$
            begin
              if tg_op = 'DELETE' or new.seq < old.seq or new.anchor_seq < old.anchor_seq
                or new.anchor_seq > new.seq or new.tenant_id <> old.tenant_id then
                raise exception 'audit chain heads only move forward (% refused)', tg_op using errcode = '42501';
              end if;
              return new;
            end $$`)
          .execute(db);
        await sql`create trigger audit_records_append_only before update or delete on audit_records
          for each row execute function audit_records_guard()`.execute(db);
        await sql`create trigger audit_records_no_truncate before truncate on audit_records
          for each statement execute function audit_records_guard()`.execute(db);
        await sql`create trigger audit_heads_forward_only before update or delete on audit_heads
          for each row execute function audit_heads_guard()`.execute(db);
        await sql`create trigger audit_heads_no_truncate before truncate on audit_heads
          for each statement execute function audit_heads_guard()`.execute(db);
      } else {
        await sql
          .raw(`create trigger audit_records_no_update before update on audit_records
            begin select raise(abort, '${appendOnly} (UPDATE refused)'); end`)
          .execute(db);
        await sql
          .raw(`create trigger audit_records_no_delete before delete on audit_records
            when old.seq > coalesce((select anchor_seq from audit_heads where tenant_id = old.tenant_id), 0)
            begin select raise(abort, '${appendOnly} (DELETE refused)'); end`)
          .execute(db);
        await sql
          .raw(`create trigger audit_heads_forward_only before update on audit_heads
            when new.seq < old.seq or new.anchor_seq < old.anchor_seq or new.anchor_seq > new.seq
              or new.tenant_id <> old.tenant_id
            begin select raise(abort, 'audit chain heads only move forward (UPDATE refused)'); end`)
          .execute(db);
        await sql
          .raw(`create trigger audit_heads_no_delete before delete on audit_heads
            begin select raise(abort, 'audit chain heads only move forward (DELETE refused)'); end`)
          .execute(db);
      }
    },
    async down(db: Kysely<unknown>) {
      // Only for development databases: the chain columns stay (SQLite cannot drop them portably).
      for (const trigger of [
        'audit_records_append_only',
        'audit_records_no_truncate',
        'audit_records_no_update',
        'audit_records_no_delete',
      ]) {
        if (features.dialect === 'postgres')
          await sql.raw(`drop trigger if exists ${trigger} on audit_records`).execute(db);
        else await sql.raw(`drop trigger if exists ${trigger}`).execute(db);
      }
      await db.schema.dropTable('audit_keys').ifExists().execute();
      await db.schema.dropTable('audit_heads').ifExists().execute();
    },
  };
}
