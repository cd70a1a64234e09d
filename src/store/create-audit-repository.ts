import type { Selectable } from 'kysely';
import type { AuditDecision, AuditRecord, AuditRepository } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { AuditRecordsTable } from './store-database.ts';

const defaultLimit = 1_000;
const maxLimit = 10_000;

/** Append-only: the port has no update or delete, and neither has this adapter. */
export function createAuditRepository({ db, features, run }: StoreContext): AuditRepository {
  return {
    append: (record) => run('audit.append', () => features.appendAudit(db, record)),
    query: (query) =>
      run('audit.query', async () => {
        let select = db.selectFrom('audit_records').selectAll().where('tenant_id', '=', query.tenantId);
        if (query.tool !== undefined) select = select.where('tool', '=', query.tool);
        if (query.decision !== undefined) select = select.where('decision', '=', query.decision);
        if (query.since !== undefined) select = select.where('at', '>=', query.since);
        if (query.until !== undefined) select = select.where('at', '<', query.until);
        if (query.afterSeq !== undefined) select = select.where('seq', '>', query.afterSeq);
        if (query.beforeSeq !== undefined) select = select.where('seq', '<', query.beforeSeq);
        const limit = Math.max(0, Math.min(Math.trunc(query.limit ?? defaultLimit), maxLimit));
        const rows = await select
          .orderBy('seq', query.order ?? 'asc')
          .limit(limit)
          .execute();
        return rows.map(toAuditRecord);
      }),
  };
}

function toAuditRecord(row: Selectable<AuditRecordsTable>): AuditRecord {
  return {
    tenantId: row.tenant_id,
    seq: Number(row.seq),
    id: row.id,
    at: Number(row.at),
    requestId: row.request_id,
    kind: row.kind as AuditRecord['kind'],
    toolset: row.toolset,
    clientKey: row.client_key,
    subject: row.subject,
    tool: row.tool,
    method: row.method,
    pathTemplate: row.path_template,
    decision: row.decision as AuditDecision,
    code: row.code,
    upstreamStatus: row.upstream_status === null ? null : Number(row.upstream_status),
    latencyMs: Number(row.latency_ms),
  };
}
