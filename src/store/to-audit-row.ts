import type { Insertable } from 'kysely';
import type { AuditRecord } from './port.ts';
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
