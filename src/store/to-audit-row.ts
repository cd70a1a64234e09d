import type { Insertable } from 'kysely';
import type { AuditRecord } from './port.ts';
import type { AuditRecordsTable } from './store-database.ts';

/** The row of an audit record without its `seq`, which the dialect assigns on insert. */
export function toAuditRow(record: AuditRecord): Omit<Insertable<AuditRecordsTable>, 'seq'> {
  return {
    tenant_id: record.tenantId,
    id: record.id,
    at: record.at,
    request_id: record.requestId,
    kind: record.kind,
    toolset: record.toolset,
    client_key: record.clientKey,
    subject: record.subject,
    tool: record.tool,
    method: record.method,
    path_template: record.pathTemplate,
    decision: record.decision,
    code: record.code,
    upstream_status: record.upstreamStatus,
    latency_ms: record.latencyMs,
  };
}
