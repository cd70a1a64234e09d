import type { Insertable } from 'kysely';
import type { AuditRecord, AuditSeal } from './port.ts';
import type { AuditRecordsTable } from './store-database.ts';

/** The columns of an audit row in insert order (the appenders bind parameters in this order). */
export const auditColumns = [
  'tenant_id',
  'seq',
  'id',
  'at',
  'request_id',
  'kind',
  'event',
  'toolset',
  'client_key',
  'subject',
  'tool',
  'method',
  'path_template',
  'decision',
  'code',
  'upstream_status',
  'latency_ms',
  'detail',
  'target',
  'fingerprint',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof AuditRecordsTable)[];

/** A chained record: `seq`, `prevHash` and `hash` assigned. */
export type ChainedAuditRecord = AuditRecord & {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
};

/**
 * `record` as the `seq`-th of `tenantId`'s chain after `prevHash`, sealed. Every field is written out (no spreads),
 * so the rows of a batch share one object shape.
 */
export function chainAuditRecord(
  record: AuditRecord,
  tenantId: string,
  seq: number,
  prevHash: string,
  seal: AuditSeal,
): ChainedAuditRecord {
  const numbered = {
    tenantId,
    id: record.id,
    at: record.at,
    requestId: record.requestId,
    kind: record.kind,
    event: record.event,
    toolset: record.toolset,
    clientKey: record.clientKey,
    subject: record.subject,
    tool: record.tool,
    method: record.method,
    pathTemplate: record.pathTemplate,
    decision: record.decision,
    code: record.code,
    upstreamStatus: record.upstreamStatus,
    latencyMs: record.latencyMs,
    detail: record.detail,
    target: record.target,
    fingerprint: record.fingerprint,
    seq,
    prevHash,
    hash: '',
  };
  numbered.hash = seal(numbered, prevHash);
  return numbered;
}

/** The row of a chained audit record, as parameters in `auditColumns` order. */
export function toAuditValues(record: ChainedAuditRecord): unknown[] {
  return [
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
    record.prevHash,
    record.hash,
  ];
}

/** The row of a chained audit record for Kysely. */
export function toAuditRow(record: ChainedAuditRecord): Insertable<AuditRecordsTable> {
  const values = toAuditValues(record);
  return Object.fromEntries(auditColumns.map((column, i) => [column, values[i]])) as Insertable<AuditRecordsTable>;
}
