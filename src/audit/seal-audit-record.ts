import { hash } from 'node:crypto';
import type { AuditRecord } from '../store/index.ts';

/** Version tag of the canonical form; a new form gets a new tag so old records still verify. */
const canonicalVersion = 'gatehouse.audit.v1';

/**
 * The canonical serialisation of a record: a JSON array of every schema field in a fixed order (`seq` and the
 * tenant included, so a record moved to another position or tenant no longer matches). JSON is deterministic
 * for these values: strings, null, integers and finite doubles (which both databases return bit-exact).
 */
export function toCanonicalAuditRecord(record: AuditRecord & { readonly seq: number }): string {
  return JSON.stringify([
    canonicalVersion,
    record.tenantId,
    record.seq,
    record.id,
    record.at,
    record.requestId,
    record.kind,
    record.event,
    record.toolset,
    record.clientKey,
    record.subject,
    record.tool,
    record.method,
    record.pathTemplate,
    record.decision,
    record.code,
    record.upstreamStatus,
    record.latencyMs,
    record.detail,
    record.target,
    record.fingerprint,
  ]);
}

/** `hash = SHA-256(prev_hash || canonical record)`, hex. The `AuditSeal` the store calls for each record. */
export function sealAuditRecord(record: AuditRecord & { readonly seq: number }, prevHash: string): string {
  // One-shot crypto.hash: no Hash object per record. Same bytes as updating with both strings in turn.
  return hash('sha256', prevHash + toCanonicalAuditRecord(record), 'hex');
}
