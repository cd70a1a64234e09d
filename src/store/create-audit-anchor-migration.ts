import { type Kysely, type Migration, sql } from 'kysely';
import type { StoreFeatures } from './store-features.ts';

/**
 * The `anchor_mac` of an anchor that existed before `0012_audit_anchor_mac` (the last pre-chain record, or a prune
 * done before anchors were signed): set by that migration only. Not hex, so it is never a valid MAC; triggers
 * refuse writing it afterwards and refuse moving (or re-hashing) an anchor that carries it.
 */
export const legacyAnchorMac = 'legacy';

const refused = 'audit anchors are signed: a legacy anchor cannot be created or moved';

/**
 * Migration `0012_audit_anchor_mac` (issue 17 review, audit anchor move): `audit_heads.anchor_mac` holds the MAC
 * the gateway computes, under the tenant's checkpoint key, over the anchor it moves when retention prunes a chain
 * prefix (`sealAuditAnchor`). The head triggers still allow forward anchor moves (retention needs them), so a
 * database writer can move an anchor; what they cannot do without the master key is sign it, and `audit verify`
 * refuses an anchor above 0 without a valid MAC (`anchor_forged`).
 *
 * Anchors that exist now were never signed (pre-chain anchors from 0002, prunes before this migration): they are
 * marked `legacy` here, once, and triggers keep that mark from being written or moved later, so it covers exactly
 * the anchors of the moment of migration.
 */
export function createAuditAnchorMigration(features: StoreFeatures): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('audit_heads').addColumn('anchor_mac', 'text').execute();
      await sql`update audit_heads set anchor_mac = ${legacyAnchorMac} where anchor_seq > 0`.execute(db);
      // A legacy mark is only ever kept as it is: never inserted, never set, never on an anchor that moved.
      const legacy = `'${legacyAnchorMac}'`;
      if (features.dialect === 'postgres') {
        await sql
          .raw(`create function audit_heads_anchor_guard() returns trigger language plpgsql as $$
            begin
              if new.anchor_mac = ${legacy} and (tg_op = 'INSERT' or old.anchor_mac is distinct from ${legacy}
                or new.anchor_seq <> old.anchor_seq or new.anchor_hash <> old.anchor_hash) then
                raise exception '${refused} (% refused)', tg_op using errcode = '42501';
              end if;
              return new;
            end $$`)
          .execute(db);
        await sql`create trigger audit_heads_anchor_signed before insert or update on audit_heads
          for each row execute function audit_heads_anchor_guard()`.execute(db);
      } else {
        await sql
          .raw(`create trigger audit_heads_anchor_no_legacy_insert before insert on audit_heads
            when new.anchor_mac = ${legacy}
            begin select raise(abort, '${refused} (INSERT refused)'); end`)
          .execute(db);
        await sql
          .raw(`create trigger audit_heads_anchor_no_legacy_update before update on audit_heads
            when new.anchor_mac = ${legacy} and (old.anchor_mac is not ${legacy}
              or new.anchor_seq <> old.anchor_seq or new.anchor_hash <> old.anchor_hash)
            begin select raise(abort, '${refused} (UPDATE refused)'); end`)
          .execute(db);
      }
    },
    async down(db: Kysely<unknown>) {
      if (features.dialect === 'postgres') {
        await sql.raw('drop trigger if exists audit_heads_anchor_signed on audit_heads').execute(db);
        await sql.raw('drop function if exists audit_heads_anchor_guard()').execute(db);
      } else {
        await sql.raw('drop trigger if exists audit_heads_anchor_no_legacy_insert').execute(db);
        await sql.raw('drop trigger if exists audit_heads_anchor_no_legacy_update').execute(db);
      }
      await db.schema.alterTable('audit_heads').dropColumn('anchor_mac').execute();
    },
  };
}
