import { createHmac, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { AuditCheckpoint } from '../store/index.ts';

/** Version tag of the MAC input; a new form gets a new tag so old checkpoints still verify. */
const checkpointVersion = 'gatehouse.audit.checkpoint.v1';

/**
 * The tenant's checkpoint key: HKDF-SHA-256 of its audit key (32 random bytes, stored only sealed by the vault
 * in `audit_keys`) with its own label, so the fingerprint HMAC and the checkpoint MAC never share a key. Someone
 * who can write the database but does not hold the master key cannot compute it.
 */
export function deriveAuditCheckpointKey(auditKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', auditKey, Buffer.alloc(0), checkpointVersion, 32));
}

/**
 * `HMAC-SHA-256(checkpoint key, [version, tenant, seq, chain hash, at])`, hex: binds the chain hash at `seq` (which
 * commits to every record up to it) to the tenant, the position and the time it was taken.
 */
export function sealAuditCheckpoint(
  key: KeyObject | Buffer,
  tenant: string,
  checkpoint: Omit<AuditCheckpoint, 'mac'>,
): string {
  const input = JSON.stringify([checkpointVersion, tenant, checkpoint.seq, checkpoint.hash, checkpoint.at]);
  return createHmac('sha256', key).update(input, 'utf8').digest('hex');
}

/** Whether `checkpoint.mac` is the MAC of its content under `key` (constant-time comparison). */
export function isAuditCheckpointAuthentic(
  key: KeyObject | Buffer,
  tenant: string,
  checkpoint: AuditCheckpoint,
): boolean {
  const expected = Buffer.from(sealAuditCheckpoint(key, tenant, checkpoint), 'hex');
  const given = Buffer.from(checkpoint.mac, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
