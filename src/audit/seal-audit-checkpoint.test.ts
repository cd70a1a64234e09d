import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveAuditCheckpointKey, isAuditCheckpointAuthentic, sealAuditCheckpoint } from './seal-audit-checkpoint.ts';

const auditKey = randomBytes(32);
const key = deriveAuditCheckpointKey(auditKey);
const taken = { seq: 42, hash: 'ab'.repeat(32), at: 1_764_000_000_000 };
const checkpoint = { ...taken, mac: sealAuditCheckpoint(key, 'acme', taken) };

describe('sealAuditCheckpoint()', () => {
  it('derives a key of its own from the audit key (never the fingerprint key itself), deterministically', () => {
    expect(key).toHaveLength(32);
    expect(key.equals(auditKey)).toBe(false);
    expect(deriveAuditCheckpointKey(auditKey).equals(key)).toBe(true);
  });

  it('AU-04 a checkpoint verifies only under its key, for its tenant, with every field unchanged', () => {
    expect(checkpoint.mac).toMatch(/^[0-9a-f]{64}$/);
    expect(isAuditCheckpointAuthentic(key, 'acme', checkpoint)).toBe(true);
    expect(isAuditCheckpointAuthentic(deriveAuditCheckpointKey(randomBytes(32)), 'acme', checkpoint)).toBe(false);
    expect(isAuditCheckpointAuthentic(key, 'other', checkpoint)).toBe(false);
    expect(isAuditCheckpointAuthentic(key, 'acme', { ...checkpoint, seq: 43 })).toBe(false);
    expect(isAuditCheckpointAuthentic(key, 'acme', { ...checkpoint, hash: 'cd'.repeat(32) })).toBe(false);
    expect(isAuditCheckpointAuthentic(key, 'acme', { ...checkpoint, at: taken.at + 1 })).toBe(false);
    expect(isAuditCheckpointAuthentic(key, 'acme', { ...checkpoint, mac: checkpoint.mac.slice(2) })).toBe(false);
    expect(isAuditCheckpointAuthentic(key, 'acme', { ...checkpoint, mac: 'not hex' })).toBe(false);
  });
});
