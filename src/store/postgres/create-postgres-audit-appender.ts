import { CompiledQuery, type Kysely } from 'kysely';
import { auditGenesisHash } from '../create-audit-chain-migration.ts';
import type { AuditRecord, AuditSeal } from '../port.ts';
import type { StoreDatabase } from '../store-database.ts';
import type { AuditAppender } from '../store-features.ts';
import { auditColumns, type ChainedAuditRecord, chainAuditRecord, toAuditValues } from '../to-audit-row.ts';

/**
 * Locks the tenant's head row (creating it on first use) and returns it, in one statement: the no-op
 * `do update` takes the row lock like `select ... for update` would, but also covers a missing row.
 */
const lockHead = `insert into audit_heads (tenant_id, seq, hash, anchor_seq, anchor_hash) values ($1, 0, $2, 0, $2)
  on conflict (tenant_id) do update set tenant_id = excluded.tenant_id returning seq, hash`;

const columnList = auditColumns.join(', ');
/** Casts for the compare-and-swap form, whose VALUES list gives PostgreSQL no column types to infer. */
const casts: Record<(typeof auditColumns)[number], string> = {
  tenant_id: 'text',
  seq: 'bigint',
  id: 'text',
  at: 'bigint',
  request_id: 'text',
  kind: 'text',
  event: 'text',
  toolset: 'text',
  client_key: 'text',
  subject: 'text',
  tool: 'text',
  method: 'text',
  path_template: 'text',
  decision: 'text',
  code: 'text',
  upstream_status: 'integer',
  latency_ms: 'double precision',
  detail: 'text',
  target: 'text',
  fingerprint: 'text',
  prev_hash: 'text',
  hash: 'text',
};

interface Head {
  readonly seq: number;
  readonly hash: string;
}

/** Chains records after `head`; returns them with the SQL tuples and parameters (numbered after `offset`). */
function chain(tenantId: string, records: readonly AuditRecord[], seal: AuditSeal, head: Head, offset: number) {
  let { seq, hash: prevHash } = head;
  const chained: ChainedAuditRecord[] = [];
  const parameters: unknown[] = [];
  const tuples: string[] = [];
  for (const record of records) {
    seq += 1;
    const row = chainAuditRecord(record, tenantId, seq, prevHash, seal);
    const base = offset + parameters.length;
    parameters.push(...toAuditValues(row));
    tuples.push(`(${auditColumns.map((column, i) => `$${base + i + 1}::${casts[column]}`).join(', ')})`);
    chained.push(row);
    prevHash = row.hash;
  }
  return { chained, parameters, tuples, head: { seq, hash: prevHash } };
}

/**
 * The PostgreSQL audit appender. Every batch is one chain step of the tenant's head row, which serialises appends
 * of all processes, so the chain stays gapless and linear.
 *
 Both paths run inside the tenant transaction the store opened for the batch (`db` is its connection; row-level
 * security scopes it to the tenant).
 *
 * Fast path (one statement): with the head this process last wrote or read, one statement moves the head only if
 * it is still there (`where seq = $ and hash = $`, which waits for and re-checks a concurrent writer's row lock)
 * and inserts the rows only if the head moved. Zero rows means another process appended in between: the slow path
 * then runs in the same transaction: it locks the head row, reads it, inserts and moves it. SQL text is built by
 * hand with numbered parameters: no query builder on the request path.
 */
export function createPostgresAuditAppender(): AuditAppender {
  const heads = new Map<string, Head>();

  async function appendWithCachedHead(
    db: Kysely<StoreDatabase>,
    tenantId: string,
    records: readonly AuditRecord[],
    seal: AuditSeal,
    head: Head,
  ): Promise<readonly ChainedAuditRecord[] | undefined> {
    const step = chain(tenantId, records, seal, head, 5);
    const result = await db.executeQuery(
      CompiledQuery.raw(
        `with moved as (update audit_heads set seq = $1, hash = $2 where tenant_id = $3 and seq = $4 and hash = $5
           returning 1)
         insert into audit_records (${columnList})
         select * from (values ${step.tuples.join(', ')}) as v where exists (select 1 from moved)`,
        [step.head.seq, step.head.hash, tenantId, head.seq, head.hash, ...step.parameters],
      ),
    );
    if (Number(result.numAffectedRows ?? 0) !== records.length) return undefined;
    heads.set(tenantId, step.head);
    return step.chained;
  }

  async function appendLocked(
    db: Kysely<StoreDatabase>,
    tenantId: string,
    records: readonly AuditRecord[],
    seal: AuditSeal,
  ): Promise<readonly ChainedAuditRecord[]> {
    const locked = await db.executeQuery<{ seq: string | number; hash: string }>(
      CompiledQuery.raw(lockHead, [tenantId, auditGenesisHash]),
    );
    const row = locked.rows[0];
    const head = { seq: Number(row?.seq ?? 0), hash: row?.hash ?? auditGenesisHash };
    const n = 3;
    const step = chain(tenantId, records, seal, head, n);
    await db.executeQuery(
      CompiledQuery.raw(
        `with inserted as (insert into audit_records (${columnList}) values ${step.tuples.join(', ')})
         update audit_heads set seq = $1, hash = $2 where tenant_id = $3`,
        [step.head.seq, step.head.hash, tenantId, ...step.parameters],
      ),
    );
    heads.set(tenantId, step.head);
    return step.chained;
  }

  return async (db, tenantId, records, seal) => {
    const cached = heads.get(tenantId);
    if (cached !== undefined) {
      try {
        const appended = await appendWithCachedHead(db, tenantId, records, seal, cached);
        if (appended !== undefined) return appended;
      } catch (error) {
        heads.delete(tenantId);
        throw error;
      }
    }
    try {
      return await appendLocked(db, tenantId, records, seal);
    } catch (error) {
      heads.delete(tenantId);
      throw error;
    }
  };
}
