import { CompiledQuery } from 'kysely';
import { auditGenesisHash } from '../create-audit-chain-migration.ts';
import type { AuditAppender } from '../store-features.ts';
import { auditColumns, type ChainedAuditRecord, toAuditValues } from '../to-audit-row.ts';

/**
 * Locks the tenant's head row (creating it on first use) and returns it, in one statement: the no-op
 * `do update` takes the row lock like `select ... for update` would, but also covers a missing row.
 */
const lockHead = `insert into audit_heads (tenant_id, seq, hash, anchor_seq, anchor_hash) values ($1, 0, $2, 0, $2)
  on conflict (tenant_id) do update set tenant_id = excluded.tenant_id returning seq, hash`;

const columnList = auditColumns.join(', ');
const width = auditColumns.length;

/**
 * The PostgreSQL audit appender: per batch one transaction of two statements. The first locks the tenant's
 * chain head (every process appending for that tenant queues on this row lock, so the chain stays gapless and
 * linear across processes); the second inserts all rows and moves the head (a data-modifying CTE). The SQL text
 * is built by hand with numbered parameters: no query builder on the request path.
 */
export const appendPostgresAudit: AuditAppender = (db, tenantId, records, seal) =>
  db.transaction().execute(async (trx) => {
    const head = await trx.executeQuery<{ seq: string | number; hash: string }>(
      CompiledQuery.raw(lockHead, [tenantId, auditGenesisHash]),
    );
    const row = head.rows[0];
    let seq = Number(row?.seq ?? 0);
    let prevHash = row?.hash ?? auditGenesisHash;
    const chained: ChainedAuditRecord[] = [];
    const parameters: unknown[] = [];
    const tuples: string[] = [];
    for (const record of records) {
      seq += 1;
      const numbered = { ...record, tenantId, seq };
      const hash = seal(numbered, prevHash);
      const chainedRecord: ChainedAuditRecord = { ...numbered, prevHash, hash };
      const base = parameters.length;
      parameters.push(...toAuditValues(chainedRecord));
      tuples.push(`(${Array.from({ length: width }, (_, i) => `$${base + i + 1}`).join(', ')})`);
      chained.push(chainedRecord);
      prevHash = hash;
    }
    const n = parameters.length;
    parameters.push(seq, prevHash, tenantId);
    await trx.executeQuery(
      CompiledQuery.raw(
        `with inserted as (insert into audit_records (${columnList}) values ${tuples.join(', ')})
         update audit_heads set seq = $${n + 1}, hash = $${n + 2} where tenant_id = $${n + 3}`,
        parameters,
      ),
    );
    return chained;
  });
