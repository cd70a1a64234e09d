import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint, AuditRecord, AuditRepository } from '../store/index.ts';
import { isAuditCheckpointAuthentic } from './seal-audit-checkpoint.ts';
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
  | 'unchained_record'
  /** The chain hash at a signed checkpoint's seq is not the one the checkpoint vouches for (chain rewritten). */
  | 'checkpoint_mismatch'
  /** A checkpoint's MAC does not verify under the tenant's checkpoint key (checkpoint forged or edited). */
  | 'checkpoint_forged'
  /** The tenant has checkpoints but no checkpoint key was given (no master key): a rewrite cannot be ruled out. */
  | 'checkpoint_key_unavailable';

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
  /** Checkpoints above the anchor whose chain hash matched (and MAC verified, when `checkpointsAuthenticated`). */
  readonly checkpoints: number;
  /** The seq of the last matching checkpoint: records after it are protected by the chain alone. */
  readonly checkpointSeq: number | null;
  /** The last matching checkpoint's chain hash: keep it outside the database and pass it back (`expect`). */
  readonly checkpointHash: string | null;
  /** True when checkpoint MACs were checked with the tenant's key. */
  readonly checkpointsAuthenticated: boolean;
}

export interface VerifyAuditChainOptions {
  /** The tenant's checkpoint key (`deriveAuditCheckpointKey`); without it MACs cannot be checked. */
  readonly checkpointKey?: KeyObject | Buffer;
  /**
   * A checkpoint kept outside the database (from an earlier `--json` report): the chain must still hold this
   * hash at this seq. Catches a rewrite or truncation after the last checkpoint the database still holds.
   */
  readonly expect?: { readonly seq: number; readonly hash: string };
}

const pageSize = 1_000;

/**
 * Recomputes a tenant's hash chain from its anchor to its head (AU-04) and reports the first bad seq: an edited
 * record (its hash), a deleted or reordered one (a missing or misplaced seq, a broken link), a deleted tail (the
 * head is ahead of the last record). A tenant without records is intact. Reads in pages of 1,000.
 *
 * Signed checkpoints (`audit_checkpoints`) close the limit of an unkeyed chain, that someone able to write every
 * later record and the head recomputes them consistently: each checkpoint's chain hash must match the recomputed
 * one at its seq, and its MAC must verify under `checkpointKey` (which needs the master key). Records after the
 * last checkpoint are protected by the chain alone, unless `expect` names a later checkpoint kept elsewhere.
 */
export async function verifyAuditChain(
  repository: AuditRepository,
  tenant: string,
  options: VerifyAuditChainOptions = {},
): Promise<AuditChainReport> {
  const key = options.checkpointKey;
  const head = await repository.readHead(tenant);
  let checkpointCount = 0;
  let lastCheckpoint: AuditCheckpoint | undefined;
  const report = (
    checked: number,
    anchorSeq: number,
    headSeq: number,
    firstBadSeq: number | null,
    problem: AuditChainProblem | null,
  ): AuditChainReport => ({
    tenant,
    ok: problem === null,
    checked,
    anchorSeq,
    headSeq,
    firstBadSeq,
    problem,
    checkpoints: checkpointCount,
    checkpointSeq: lastCheckpoint?.seq ?? null,
    checkpointHash: lastCheckpoint?.hash ?? null,
    checkpointsAuthenticated: key !== undefined,
  });
  if (head === undefined) {
    const any = await repository.query({ tenantId: tenant, limit: 1 });
    const bad = any[0]?.seq ?? null;
    if (bad === null && options.expect !== undefined) return report(0, 0, 0, options.expect.seq, 'missing_tail');
    return report(0, 0, 0, bad, bad === null ? null : 'unchained_record');
  }
  const checkpoints = await repository.listCheckpoints(tenant, head.anchorSeq);
  const expected = options.expect === undefined ? [] : [{ ...options.expect, at: 0, mac: '' }];
  let next = 0;
  let expectedSeq = head.anchorSeq + 1;
  let prevHash = head.anchorHash;
  let checked = 0;
  const fail = (seq: number, problem: AuditChainProblem) => report(checked, head.anchorSeq, head.seq, seq, problem);
  /** Checks the checkpoints at `seq` against the recomputed chain hash there; returns the problem, if any. */
  const checkAt = (seq: number, hash: string): AuditChainProblem | undefined => {
    for (; next < checkpoints.length && (checkpoints[next] as AuditCheckpoint).seq <= seq; next += 1) {
      const checkpoint = checkpoints[next] as AuditCheckpoint;
      if (checkpoint.seq < seq) return 'missing_record';
      if (key !== undefined && !isAuditCheckpointAuthentic(key, tenant, checkpoint)) return 'checkpoint_forged';
      if (checkpoint.hash !== hash) return 'checkpoint_mismatch';
      checkpointCount += 1;
      lastCheckpoint = checkpoint;
    }
    for (const outside of expected) if (outside.seq === seq && outside.hash !== hash) return 'checkpoint_mismatch';
    return undefined;
  };
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
      const problem = checkAt(seq, record.hash);
      if (problem !== undefined) return fail(seq, problem);
      prevHash = record.hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (page.length < pageSize) break;
  }
  if (expectedSeq - 1 < head.seq) return fail(expectedSeq, 'missing_tail');
  if (expectedSeq - 1 > head.seq) return fail(head.seq + 1, 'broken_link');
  if (prevHash !== head.hash) return fail(head.seq, 'broken_link');
  // A checkpoint (or the one kept outside) beyond the last record: records it vouched for are gone.
  const beyond = [...checkpoints.slice(next), ...expected].find((c) => c.seq > head.seq);
  if (beyond !== undefined) {
    const forged =
      key !== undefined && checkpoints.includes(beyond) && !isAuditCheckpointAuthentic(key, tenant, beyond);
    return fail(beyond.seq, forged ? 'checkpoint_forged' : 'missing_tail');
  }
  if (key === undefined && checkpoints.length > 0)
    return report(checked, head.anchorSeq, head.seq, null, 'checkpoint_key_unavailable');
  return report(checked, head.anchorSeq, head.seq, null, null);
}
