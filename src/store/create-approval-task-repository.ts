import type { Selectable } from 'kysely';
import type { ApprovalTaskRecord, ApprovalTaskRepository, ApprovalTaskStatus } from './port.ts';
import { allTenants, type StoreContext } from './store-context.ts';
import type { ApprovalTasksTable } from './store-database.ts';

/**
 * Tool calls waiting for an approval as MCP tasks. Every state change is one conditional UPDATE
 * (`where status = from`), so across processes exactly one claims a task and runs its call once; the sweep takes
 * each expired task once in the same way (`takeExpired`).
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
    takeExpired: (now, claimedBefore, limit) =>
      run('approvalTasks.takeExpired', allTenants, async (db) => {
        // Oldest expiry first, at most `limit`; a `running` task only when its claim is stale (its process may still
        // end it and write its record). One DELETE ... RETURNING: a row is returned by the one statement that
        // deleted it (PostgreSQL re-checks a row another delete locked and skips it once gone).
        const expired = db
          .selectFrom('approval_tasks')
          .select(['tenant_id', 'id'])
          .where('expires_at', '<=', now)
          .where((eb) => eb.or([eb('status', '<>', 'running'), eb('updated_at', '<=', claimedBefore)]))
          .orderBy('expires_at')
          .limit(limit)
          .$asTuple('tenant_id', 'id');
        const rows = await db
          .deleteFrom('approval_tasks')
          .where(({ eb, refTuple }) => eb(refTuple('tenant_id', 'id'), 'in', expired))
          .where('expires_at', '<=', now)
          .where((eb) => eb.or([eb('status', '<>', 'running'), eb('updated_at', '<=', claimedBefore)]))
          .returningAll()
          .execute();
        return rows.map(toApprovalTaskRecord);
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
