import type { KeyObject } from 'node:crypto';
import type { AuditChainHead, AuditCheckpoint, AuditRecord, AuditRepository } from '../store/index.ts';
import { isAuditAnchorAuthentic, isAuditCheckpointAuthentic } from './seal-audit-checkpoint.ts';
import { sealAuditRecord } from './seal-audit-record.ts';

const auditGenesisHash = '0'.repeat(64);

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
  /**
   * The anchor (where the chain starts; everything at or below it is pruned or pre-chain) is not one the gateway
   * signed: its MAC is missing or does not verify. A database writer moved it (issue 17 review, audit anchor move).
   */
  | 'anchor_forged'
  /**
   * The checkpoint kept outside (`expect`) is below the anchor and no signed anchor proves the gateway pruned past
   * it (the anchor is a legacy one, from before anchors were signed): its records are gone, unexplained.
   */
  | 'checkpoint_pruned'
  /**
   * The tenant has checkpoints, or an anchor above 0, but no checkpoint key was given (no master key): a rewrite
   * cannot be ruled out.
   */
  | 'checkpoint_key_unavailable';

/**
 * How the anchor was established: `genesis` (seq 0, nothing pruned), `signed` (a prune the gateway signed; its MAC
 * verified), `legacy` (an anchor from before `0012_audit_anchor_mac`, kept in place by triggers), `unchecked` (no
 * key to check its MAC), `forged` (its MAC is missing or wrong).
 */
export type AuditAnchorStatus = 'genesis' | 'signed' | 'legacy' | 'unchecked' | 'forged';

/**
 * What became of the checkpoint kept outside (`expect`): `matched` by the chain, equal to the (signed or legacy)
 * `anchor`, `pruned` (below a signed anchor: the gateway pruned the records it covered); null when none was given
 * or verification failed.
 */
export type ExpectedCheckpointStatus = 'matched' | 'anchor' | 'pruned' | null;

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
  readonly anchor: AuditAnchorStatus;
  readonly expected: ExpectedCheckpointStatus;
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
  let anchor: AuditAnchorStatus = 'genesis';
  let expectedStatus: ExpectedCheckpointStatus = null;
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
    anchor,
    expected: problem === null ? expectedStatus : null,
  });
  if (head === undefined) {
    const any = await repository.query({ tenantId: tenant, limit: 1 });
    const bad = any[0]?.seq ?? null;
    if (bad === null && options.expect !== undefined) return report(0, 0, 0, options.expect.seq, 'missing_tail');
    return report(0, 0, 0, bad, bad === null ? null : 'unchained_record');
  }
  // The anchor first: everything at or below it is unchecked, so only an anchor the gateway signed (or the genesis,
  // or a legacy one the triggers pin) may start the chain (issue 17 review, audit anchor move).
  if (head.anchorSeq === 0) {
    if (head.anchorHash !== auditGenesisHash) return forgedAnchor();
  } else if (head.anchorLegacy) anchor = 'legacy';
  else if (key === undefined) anchor = 'unchecked';
  else if (isAuditAnchorAuthentic(key, tenant, { seq: head.anchorSeq, hash: head.anchorHash, mac: head.anchorMac }))
    anchor = 'signed';
  else return forgedAnchor();
  function forgedAnchor(): AuditChainReport {
    anchor = 'forged';
    return report(0, head?.anchorSeq ?? 0, head?.seq ?? 0, head?.anchorSeq ?? 0, 'anchor_forged');
  }
  // A checkpoint kept outside at or below the anchor is never silently ignored: at the anchor it must equal the
  // anchor's hash; below it, only a signed anchor proves the gateway pruned the records it covered.
  let outside = options.expect;
  if (outside !== undefined && outside.seq <= head.anchorSeq) {
    if (outside.seq === head.anchorSeq) {
      if (outside.hash !== head.anchorHash)
        return report(0, head.anchorSeq, head.seq, head.anchorSeq, 'checkpoint_mismatch');
      expectedStatus = 'anchor';
    } else if (anchor === 'signed') expectedStatus = 'pruned';
    else if (anchor === 'legacy') return report(0, head.anchorSeq, head.seq, outside.seq, 'checkpoint_pruned');
    outside = undefined;
  } else if (outside !== undefined) expectedStatus = 'matched';
  const checkpoints = await repository.listCheckpoints(tenant, head.anchorSeq);
  const expected = outside === undefined ? [] : [{ ...outside, at: 0, mac: '' }];
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
  // A running fleet appends while this reads: records (and checkpoints) past the head read above were appended
  // since, unless the head read again is still behind them (a head moved back, hiding a tail: tampering).
  let pastHead: number | undefined;
  let liveHead: Promise<AuditChainHead | undefined> | undefined;
  const appendedSince = async (seq: number) => {
    liveHead ??= repository.readHead(tenant);
    return ((await liveHead)?.seq ?? 0) >= seq;
  };
  reading: for (;;) {
    const page: readonly AuditRecord[] = await repository.query({
      tenantId: tenant,
      afterSeq: expectedSeq - 1,
      limit: pageSize,
    });
    for (const record of page) {
      const seq = record.seq ?? -1;
      if (seq > head.seq && seq === expectedSeq) {
        pastHead = seq;
        break reading;
      }
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
  if (pastHead !== undefined && !(await appendedSince(pastHead))) return fail(head.seq + 1, 'broken_link');
  if (prevHash !== head.hash) return fail(head.seq, 'broken_link');
  // A checkpoint (or the one kept outside) beyond the last record: records it vouched for are gone (a stored
  // checkpoint written after the head was read is not: the head has moved past it since).
  const storedBeyond = checkpoints.slice(next).filter((c) => c.seq > head.seq);
  const lastStored = storedBeyond[storedBeyond.length - 1];
  const written = lastStored === undefined || (await appendedSince(lastStored.seq));
  const beyond = [...(written ? [] : storedBeyond), ...expected].find((c) => c.seq > head.seq);
  if (beyond !== undefined) {
    const forged =
      key !== undefined && checkpoints.includes(beyond) && !isAuditCheckpointAuthentic(key, tenant, beyond);
    return fail(beyond.seq, forged ? 'checkpoint_forged' : 'missing_tail');
  }
  if (key === undefined && (checkpoints.length > 0 || anchor === 'unchecked'))
    return report(checked, head.anchorSeq, head.seq, null, 'checkpoint_key_unavailable');
  return report(checked, head.anchorSeq, head.seq, null, null);
}
