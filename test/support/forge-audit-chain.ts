import { randomBytes } from 'node:crypto';
import { sealAuditCheckpoint, sealAuditRecord } from '../../src/audit/index.ts';
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
  /**
   * What happens to the signed checkpoints (default `keep`): `rewrite` gives every checkpoint at or after the edit
   * the forged chain hash and a MAC under a key the forger made up (the real one needs the master key);
   * `delete` removes them all.
   */
  readonly checkpoints?: 'keep' | 'rewrite' | 'delete';
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
      ? [
          'drop trigger if exists audit_records_no_update',
          'drop trigger if exists audit_records_no_delete',
          'drop trigger if exists audit_checkpoints_no_update',
          'drop trigger if exists audit_checkpoints_no_delete',
        ].join('; ')
      : 'alter table audit_records disable trigger user; alter table audit_checkpoints disable trigger user',
  );
  const statements: string[] = [];
  const forgedKey = randomBytes(32);
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
    if (forgery.checkpoints === 'rewrite') {
      const at = Date.now();
      const mac = sealAuditCheckpoint(forgedKey, tenant, { seq, hash, at });
      statements.push(
        `update audit_checkpoints set hash = ${quote(hash)}, at = ${at}, mac = ${quote(mac)} where tenant_id = ${quote(tenant)} and seq = ${seq}`,
      );
    }
  }
  if (forgery.checkpoints === 'delete') {
    statements.push(`delete from audit_checkpoints where tenant_id = ${quote(tenant)}`);
  }
  if (forgery.recompute === 'chain' && prevHash !== undefined) {
    statements.push(`update audit_heads set hash = ${quote(prevHash)} where tenant_id = ${quote(tenant)}`);
  }
  await db.raw(statements.join(';\n'));
}
