import { sealAuditRecord } from '../../src/audit/seal-audit-record.ts';
import { openStore } from '../../src/store/index.ts';
import type { TestDatabase } from './test-databases.ts';

export interface AuditForgery {
  /** The record to edit. */
  readonly seq: number;
  /** The new `target` of that record (the edit). */
  readonly target: string;
  /**
   * `record`: recompute only the edited record's hash (its successor's link then no longer matches);
   * `chain`: recompute every later hash and link and the head, as a forger with write access to the whole
   * database would (without any key).
   */
  readonly recompute: 'record' | 'chain';
}

const quote = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * Tampers with a tenant's audit chain the way someone who can write the database would: disables the
 * append-only triggers (as the owner can), edits one record and recomputes hashes with the public seal function.
 */
export async function forgeAuditChain(db: TestDatabase, tenant: string, forgery: AuditForgery): Promise<void> {
  const store = await openStore(db.url);
  let records: Awaited<ReturnType<typeof store.audit.query>>;
  try {
    records = await store.audit.query({ tenantId: tenant, afterSeq: forgery.seq - 1, limit: 10_000 });
  } finally {
    await store.close();
  }
  await db.raw(
    db.schema === undefined
      ? 'drop trigger if exists audit_records_no_update; drop trigger if exists audit_records_no_delete'
      : 'alter table audit_records disable trigger user',
  );
  const statements: string[] = [];
  let prevHash: string | undefined;
  for (const original of records) {
    const seq = original.seq ?? 0;
    if (seq !== forgery.seq && forgery.recompute === 'record') break;
    const record = seq === forgery.seq ? { ...original, target: forgery.target } : original;
    const link = prevHash ?? (record.prevHash as string);
    const hash = sealAuditRecord({ ...record, seq }, link);
    statements.push(
      `update audit_records set target = ${quote(record.target ?? '')}, prev_hash = ${quote(link)}, hash = ${quote(hash)} where tenant_id = ${quote(tenant)} and seq = ${seq}`,
    );
    prevHash = hash;
  }
  if (forgery.recompute === 'chain' && prevHash !== undefined) {
    statements.push(`update audit_heads set hash = ${quote(prevHash)} where tenant_id = ${quote(tenant)}`);
  }
  await db.raw(statements.join(';\n'));
}
