import type { Selectable } from 'kysely';
import type { ApprovalTaskRecord, ApprovalTaskRepository, ApprovalTaskStatus } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { ApprovalTasksTable } from './store-database.ts';

/**
 * Tool calls waiting for an approval as MCP tasks. Every state change is one conditional UPDATE
 * (`where status = from`), so across processes exactly one claims a task and runs its call once.
 */
export function createApprovalTaskRepository({ run, read }: StoreContext): ApprovalTaskRepository {
  return {
    insert: (record) =>
      run('approvalTasks.insert', record.tenantId, async (db) => {
        await db
          .insertInto('approval_tasks')
          .values({
            tenant_id: record.tenantId,
            id: record.id,
            toolset: record.toolset,
            client_key_id: record.clientKeyId,
            subject: record.subject,
            tool: record.tool,
            args_json: record.argsJson,
            request_id: record.requestId,
            approval_id: record.approvalId,
            status: record.status,
            sealed_outcome: record.sealedOutcome,
            created_at: record.createdAt,
            updated_at: record.updatedAt,
            expires_at: record.expiresAt,
          })
          .execute();
      }),
    get: (tenantId, id) =>
      read('approvalTasks.get', tenantId, async (db) => {
        const row = await db
          .selectFrom('approval_tasks')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        return row && toApprovalTaskRecord(row);
      }),
    transition: (tenantId, id, from, change) =>
      run('approvalTasks.transition', tenantId, async (db) => {
        const result = await db
          .updateTable('approval_tasks')
          .set({
            status: change.status,
            updated_at: change.at,
            ...(change.approvalId === undefined ? {} : { approval_id: change.approvalId }),
            ...(change.sealedOutcome === undefined ? {} : { sealed_outcome: change.sealedOutcome }),
          })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('status', '=', from)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    deleteExpired: (tenantId, now) =>
      run('approvalTasks.deleteExpired', tenantId, async (db) => {
        const result = await db
          .deleteFrom('approval_tasks')
          .where('tenant_id', '=', tenantId)
          .where('expires_at', '<=', now)
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
  };
}

function toApprovalTaskRecord(row: Selectable<ApprovalTasksTable>): ApprovalTaskRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    toolset: row.toolset,
    clientKeyId: row.client_key_id,
    subject: row.subject,
    tool: row.tool,
    argsJson: row.args_json,
    requestId: row.request_id,
    approvalId: row.approval_id,
    status: row.status as ApprovalTaskStatus,
    sealedOutcome: row.sealed_outcome,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: Number(row.expires_at),
  };
}
