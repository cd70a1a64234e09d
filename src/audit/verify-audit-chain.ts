import type { AuditRecord, AuditRepository } from '../store/index.ts';
import { sealAuditRecord } from './seal-audit-record.ts';

/** Why verification stopped at `firstBadSeq`. */
export type AuditChainProblem =
  /** A record's content no longer matches its hash (edited). */
  | 'hash_mismatch'
  /** A record's `prev_hash` is not the previous record's hash (edited link, or a record before it replaced). */
  | 'broken_link'
  /** A seq is missing (deleted) or out of place (reordered). */
  | 'missing_record'
  /** Records that the head says exist are gone from the end (deleted tail). */
  | 'missing_tail'
  /** A chained position holds a record without a hash. */
  | 'unchained_record';

export interface AuditChainReport {
  readonly tenant: string;
  readonly ok: boolean;
  /** Chained records checked. */
  readonly checked: number;
  /** Where the chain starts: records at or below are pre-chain (written before 0002_audit_chain) or pruned. */
  readonly anchorSeq: number;
  readonly headSeq: number;
  readonly firstBadSeq: number | null;
  readonly problem: AuditChainProblem | null;
}

const pageSize = 1_000;

/**
 * Recomputes a tenant's hash chain from its anchor to its head (AU-04) and reports the first bad seq: an edited
 * record (its hash), a deleted or reordered one (a missing or misplaced seq, a broken link), a deleted tail (the
 * head is ahead of the last record). A tenant without records is intact. Reads in pages of 1,000.
 *
 * Limit of any unkeyed chain: someone able to rewrite every later record and the head consistently is detected
 * only against a head hash kept elsewhere (export it, e.g. with `gatehouse audit verify` output, periodically).
 */
export async function verifyAuditChain(repository: AuditRepository, tenant: string): Promise<AuditChainReport> {
  const head = await repository.readHead(tenant);
  if (head === undefined) {
    const any = await repository.query({ tenantId: tenant, limit: 1 });
    const bad = any[0]?.seq ?? null;
    return report(tenant, 0, 0, 0, bad, bad === null ? null : 'unchained_record');
  }
  let expectedSeq = head.anchorSeq + 1;
  let prevHash = head.anchorHash;
  let checked = 0;
  const fail = (seq: number, problem: AuditChainProblem) =>
    report(tenant, checked, head.anchorSeq, head.seq, seq, problem);
  for (;;) {
    const page: readonly AuditRecord[] = await repository.query({
      tenantId: tenant,
      afterSeq: expectedSeq - 1,
      limit: pageSize,
    });
    for (const record of page) {
      const seq = record.seq ?? -1;
      if (seq !== expectedSeq) return fail(expectedSeq, 'missing_record');
      if (record.hash == null || record.prevHash == null) return fail(seq, 'unchained_record');
      if (record.prevHash !== prevHash) return fail(seq, 'broken_link');
      if (sealAuditRecord({ ...record, seq }, record.prevHash) !== record.hash) return fail(seq, 'hash_mismatch');
      prevHash = record.hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (page.length < pageSize) break;
  }
  if (expectedSeq - 1 < head.seq) return fail(expectedSeq, 'missing_tail');
  if (expectedSeq - 1 > head.seq) return fail(head.seq + 1, 'broken_link');
  if (prevHash !== head.hash) return fail(head.seq, 'broken_link');
  return report(tenant, checked, head.anchorSeq, head.seq, null, null);
}

function report(
  tenant: string,
  checked: number,
  anchorSeq: number,
  headSeq: number,
  firstBadSeq: number | null,
  problem: AuditChainProblem | null,
): AuditChainReport {
  return { tenant, ok: firstBadSeq === null, checked, anchorSeq, headSeq, firstBadSeq, problem };
}
