import type Database from 'better-sqlite3';
import { auditGenesisHash } from '../create-audit-chain-migration.ts';
import type { AuditRecord, AuditSeal } from '../port.ts';
import type { AuditAppender } from '../store-features.ts';
import { auditColumns, type ChainedAuditRecord, chainAuditRecord, toAuditValues } from '../to-audit-row.ts';

interface HeadRow {
  seq: number;
  hash: string;
}

/**
 * The SQLite audit appender: prepared better-sqlite3 statements in one `BEGIN IMMEDIATE` transaction per batch.
 * IMMEDIATE takes the file's write lock before the head is read, so another process cannot interleave (it waits on
 * busy_timeout); a deferred transaction would read first and fail with SQLITE_BUSY when it tried to write.
 * The statements run while Kysely's connection is held (`db.connection()`), so they never land inside a Kysely
 * transaction of this process (or directly when no transaction is open, see below). The whole batch is synchronous:
 * one hop off the event loop per batch, not per row.
 */
export function createSqliteAuditAppender(database: Database.Database): AuditAppender {
  let write: ((tenantId: string, records: readonly AuditRecord[], seal: AuditSeal) => ChainedAuditRecord[]) | undefined;

  // Prepared on first use: the tables exist only after migrate().
  const prepare = () => {
    const readHead = database.prepare<[string], HeadRow>('select seq, hash from audit_heads where tenant_id = ?');
    const insertHead = database.prepare(
      'insert into audit_heads (tenant_id, seq, hash, anchor_seq, anchor_hash) values (?, ?, ?, 0, ?)',
    );
    const updateHead = database.prepare('update audit_heads set seq = ?, hash = ? where tenant_id = ?');
    const insertRow = database.prepare(
      `insert into audit_records (${auditColumns.join(', ')}) values (${auditColumns.map(() => '?').join(', ')})`,
    );
    const transaction = database.transaction(
      (tenantId: string, records: readonly AuditRecord[], seal: AuditSeal): ChainedAuditRecord[] => {
        const head = readHead.get(tenantId);
        let seq = head === undefined ? 0 : Number(head.seq);
        let prevHash = head?.hash ?? auditGenesisHash;
        const chained: ChainedAuditRecord[] = [];
        for (const record of records) {
          seq += 1;
          const row = chainAuditRecord(record, tenantId, seq, prevHash, seal);
          insertRow.run(toAuditValues(row));
          chained.push(row);
          prevHash = row.hash;
        }
        if (head === undefined) insertHead.run(tenantId, seq, prevHash, auditGenesisHash);
        else updateHead.run(seq, prevHash, tenantId);
        return chained;
      },
    );
    return (tenantId: string, records: readonly AuditRecord[], seal: AuditSeal) =>
      transaction.immediate(tenantId, records, seal);
  };

  return (db, tenantId, records, seal) => {
    // Fast path: with no transaction open on the connection (a Kysely transaction holds one from BEGIN to COMMIT),
    // the synchronous batch cannot interleave with anything of this process, so it runs now, without the hops
    // through Kysely's connection mutex.
    if (!database.inTransaction) {
      try {
        write ??= prepare();
        return Promise.resolve(write(tenantId, records, seal));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return db.connection().execute(async () => {
      write ??= prepare();
      return write(tenantId, records, seal);
    });
  };
}
