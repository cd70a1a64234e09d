import { type Selectable, sql } from 'kysely';
import { GatehouseError } from '../core/index.ts';
import { legacyAnchorMac } from './create-audit-anchor-migration.ts';
import type { AuditDecision, AuditKind, AuditRecord, AuditRepository } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { AuditRecordsTable } from './store-database.ts';

const defaultLimit = 1_000;
const maxLimit = 10_000;
/** Largest batch of one `appendBatch` (PostgreSQL binds 22 parameters per row; the limit is 65,535). */
const maxBatch = 1_000;

/** Append-only: records are only appended (chained) and a prefix pruned; triggers refuse the rest. */
export function createAuditRepository({ run, read, transaction, appendAudit }: StoreContext): AuditRepository {
  return {
    appendBatch(tenantId, records, seal) {
      if (records.length === 0) return Promise.resolve([]);
      if (records.length > maxBatch) {
        throw new GatehouseError('internal', `An audit batch holds at most ${maxBatch} records`, {
          count: records.length,
        });
      }
      return run('audit.append', tenantId, (db) => appendAudit(db, tenantId, records, seal));
    },

    query: (query) =>
      read('audit.query', query.tenantId, async (db) => {
        let select = db.selectFrom('audit_records').selectAll().where('tenant_id', '=', query.tenantId);
        if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
        if (query.tool !== undefined) select = select.where('tool', '=', query.tool);
        if (query.decision !== undefined) select = select.where('decision', '=', query.decision);
        if (query.subject !== undefined) select = select.where('subject', '=', query.subject);
        if (query.status !== undefined) select = select.where('upstream_status', '=', query.status);
        if (query.since !== undefined) select = select.where('at', '>=', query.since);
        if (query.until !== undefined) select = select.where('at', '<', query.until);
        if (query.afterSeq !== undefined) select = select.where('seq', '>', query.afterSeq);
        if (query.beforeSeq !== undefined) select = select.where('seq', '<', query.beforeSeq);
        const limit = Math.max(0, Math.min(Math.trunc(query.limit ?? defaultLimit), maxLimit));
        const rows = await select
          .orderBy('seq', query.order ?? 'asc')
          .limit(limit)
          .execute();
        return rows.map(toAuditRecord);
      }),

    summarize: (query) =>
      read('audit.summarize', query.tenantId, async (db) => {
        const bucketMs = Math.max(1, Math.trunc(query.bucketMs));
        const window = db
          .selectFrom('audit_records')
          .where('tenant_id', '=', query.tenantId)
          .where('at', '>=', query.since)
          .where('at', '<', query.until)
          .where('kind', '=', 'tool_call');
        const counts = {
          calls: sql<number | string>`count(*)`.as('calls'),
          errors: sql<number | string>`sum(case when decision = 'error' then 1 else 0 end)`.as('errors'),
          denials: sql<number | string>`sum(case when decision = 'deny' then 1 else 0 end)`.as('denials'),
          latencyMs: sql<number | string | null>`avg(latency_ms)`.as('latency_ms'),
        };
        // Truncated to a whole bucket on both dialects (SQLite may divide as reals, depending on how `at` was bound).
        const bucket = sql<number | string>`cast(at / ${bucketMs} as bigint) * ${bucketMs}`;
        const buckets = await window
          .select([bucket.as('start'), counts.calls, counts.errors, counts.denials, counts.latencyMs])
          .groupBy(sql`1`)
          .orderBy(sql`1`)
          .execute();
        const toCounts = (row: {
          calls: number | string;
          errors: number | string;
          denials: number | string;
          latency_ms: number | string | null;
        }) => ({
          calls: Number(row.calls),
          errors: Number(row.errors ?? 0),
          denials: Number(row.denials ?? 0),
          latencyMs: row.latency_ms === null ? 0 : Math.round(Number(row.latency_ms)),
        });
        return {
          buckets: buckets.map((row) => ({ start: Number(row.start), ...toCounts(row) })),
        };
      }),

    containsRecord: (tenantId, record) =>
      read('audit.containsRecord', tenantId, async (db) => {
        // `at` first: the (tenant_id, at) index finds the record without scanning the tenant's log.
        const row = await db
          .selectFrom('audit_records')
          .select('seq')
          .where('tenant_id', '=', tenantId)
          .where('at', '=', record.at)
          .where('id', '=', record.id)
          .executeTakeFirst();
        return row !== undefined;
      }),

    readHead: (tenantId) =>
      read('audit.readHead', tenantId, async (db) => {
        const row = await db
          .selectFrom('audit_heads')
          .select(['seq', 'hash', 'anchor_seq', 'anchor_hash', 'anchor_mac'])
          .where('tenant_id', '=', tenantId)
          .executeTakeFirst();
        if (row === undefined) return undefined;
        return {
          seq: Number(row.seq),
          hash: row.hash,
          anchorSeq: Number(row.anchor_seq),
          anchorHash: row.anchor_hash,
          anchorMac: row.anchor_mac === legacyAnchorMac ? null : (row.anchor_mac ?? null),
          anchorLegacy: row.anchor_mac === legacyAnchorMac,
        };
      }),

    ensureFingerprintKey: (tenantId, sealedKey, at) =>
      read('audit.ensureFingerprintKey', tenantId, async (db) => {
        await db
          .insertInto('audit_keys')
          .values({ tenant_id: tenantId, sealed_key: sealedKey, created_at: at })
          .onConflict((c) => c.column('tenant_id').doNothing())
          .execute();
        const row = await db
          .selectFrom('audit_keys')
          .select('sealed_key')
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow();
        return new Uint8Array(row.sealed_key);
      }),

    readFingerprintKey: (tenantId) =>
      read('audit.readFingerprintKey', tenantId, async (db) => {
        const row = await db
          .selectFrom('audit_keys')
          .select('sealed_key')
          .where('tenant_id', '=', tenantId)
          .executeTakeFirst();
        return row === undefined ? undefined : new Uint8Array(row.sealed_key);
      }),

    appendCheckpoint: (tenantId, checkpoint) =>
      run('audit.appendCheckpoint', tenantId, async (db) => {
        await db
          .insertInto('audit_checkpoints')
          .values({ tenant_id: tenantId, ...checkpoint })
          .onConflict((c) => c.columns(['tenant_id', 'seq']).doNothing())
          .execute();
      }),

    listCheckpoints: (tenantId, afterSeq) =>
      read('audit.listCheckpoints', tenantId, async (db) => {
        const rows = await db
          .selectFrom('audit_checkpoints')
          .select(['seq', 'hash', 'at', 'mac'])
          .where('tenant_id', '=', tenantId)
          .where('seq', '>', afterSeq)
          .orderBy('seq', 'asc')
          .execute();
        return rows.map((row) => ({ seq: Number(row.seq), hash: row.hash, at: Number(row.at), mac: row.mac }));
      }),

    prune: (tenantId, anchor) => {
      const throughSeq = anchor.seq;
      return transaction('audit.prune', tenantId, async (trx) => {
        // The head moves first: that statement takes the write lock (SQLite) or the head's row lock
        // (PostgreSQL), and the delete triggers allow only rows at or below the new anchor.
        const moved = await trx
          .updateTable('audit_heads')
          .set({
            anchor_seq: throughSeq,
            anchor_hash: anchor.hash,
            anchor_mac: anchor.mac,
          })
          .where('tenant_id', '=', tenantId)
          .where('anchor_seq', '<', throughSeq)
          .where('seq', '>=', throughSeq)
          .where(
            sql<boolean>`exists (select 1 from audit_records where tenant_id = ${tenantId} and seq = ${throughSeq} and hash = ${anchor.hash})`,
          )
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 0) return 0;
        const deleted = await trx
          .deleteFrom('audit_records')
          .where('tenant_id', '=', tenantId)
          .where('seq', '<=', throughSeq)
          .executeTakeFirst();
        return Number(deleted.numDeletedRows);
      });
    },
  };
}

function toAuditRecord(row: Selectable<AuditRecordsTable>): AuditRecord {
  return {
    tenantId: row.tenant_id,
    seq: Number(row.seq),
    id: row.id,
    at: Number(row.at),
    requestId: row.request_id,
    kind: row.kind as AuditKind,
    event: row.event,
    toolset: row.toolset,
    clientKey: row.client_key,
    subject: row.subject,
    tool: row.tool,
    method: row.method,
    pathTemplate: row.path_template,
    decision: row.decision as AuditDecision,
    code: row.code,
    upstreamStatus: row.upstream_status === null ? null : Number(row.upstream_status),
    latencyMs: Number(row.latency_ms),
    detail: row.detail,
    target: row.target,
    fingerprint: row.fingerprint,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
