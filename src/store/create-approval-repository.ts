import type { Selectable } from 'kysely';
import type { ApprovalRecord, ApprovalRepository, ApprovalStatus } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { ApprovalsTable } from './store-database.ts';

const defaultLimit = 100;
const maxLimit = 1_000;

/**
 * Approvals of tool calls. State changes are single conditional UPDATEs (`where status = ...`), so across
 * processes exactly one decision wins and exactly one call consumes an approval.
 */
export function createApprovalRepository({ run, read }: StoreContext): ApprovalRepository {
  return {
    // The id is random and new: a row already under it is this insert's own, committed before its connection was
    // lost, so running it again (`read`: also after a commit whose answer was lost) writes it once.
    insert: (record) =>
      read('approvals.insert', record.tenantId, async (db) => {
        await db
          .insertInto('approvals')
          .values({
            tenant_id: record.tenantId,
            id: record.id,
            toolset: record.toolset,
            tool: record.tool,
            client_key_id: record.clientKeyId,
            client_key_name: record.clientKeyName,
            subject: record.subject,
            args_hash: record.argsHash,
            args_json: record.argsJson,
            sealed_link_token: record.sealedLinkToken,
            status: record.status,
            requested_at: record.requestedAt,
            expires_at: record.expiresAt,
            decided_by: record.decidedBy,
            decided_at: record.decidedAt,
            consumed_at: record.consumedAt,
          })
          .onConflict((conflict) => conflict.columns(['tenant_id', 'id']).doNothing())
          .execute();
      }),
    get: (tenantId, id) =>
      read('approvals.get', tenantId, async (db) => {
        const row = await db
          .selectFrom('approvals')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        return row && toApprovalRecord(row);
      }),
    findLive: (binding, now) =>
      read('approvals.findLive', binding.tenantId, async (db) => {
        const row = await db
          .selectFrom('approvals')
          .selectAll()
          .where('tenant_id', '=', binding.tenantId)
          .where('args_hash', '=', binding.argsHash)
          .where('tool', '=', binding.tool)
          .where('client_key_id', '=', binding.clientKeyId)
          .where('subject', '=', binding.subject)
          .where('toolset', '=', binding.toolset)
          .where('status', '!=', 'consumed')
          .where('expires_at', '>', now)
          .orderBy('requested_at', 'desc')
          .limit(1)
          .executeTakeFirst();
        return row && toApprovalRecord(row);
      }),
    list: (tenantId, options = {}) =>
      read('approvals.list', tenantId, async (db) => {
        let select = db.selectFrom('approvals').selectAll().where('tenant_id', '=', tenantId);
        if (options.status !== undefined) select = select.where('status', '=', options.status);
        const limit = Math.max(0, Math.min(Math.trunc(options.limit ?? defaultLimit), maxLimit));
        const rows = await select.orderBy('requested_at', 'desc').limit(limit).execute();
        return rows.map(toApprovalRecord);
      }),
    decide: (tenantId, id, decision, by, at, expiresAt) =>
      run('approvals.decide', tenantId, async (db) => {
        const result = await db
          .updateTable('approvals')
          .set({ status: decision, decided_by: by, decided_at: at, expires_at: expiresAt })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('status', '=', 'pending')
          .where('expires_at', '>', at)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    consume: (tenantId, id, at) =>
      run('approvals.consume', tenantId, async (db) => {
        const result = await db
          .updateTable('approvals')
          .set({ status: 'consumed', consumed_at: at })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('status', '=', 'approved')
          .where('expires_at', '>', at)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
  };
}

function toApprovalRecord(row: Selectable<ApprovalsTable>): ApprovalRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    toolset: row.toolset,
    tool: row.tool,
    clientKeyId: row.client_key_id,
    clientKeyName: row.client_key_name,
    subject: row.subject,
    argsHash: row.args_hash,
    argsJson: row.args_json,
    sealedLinkToken: row.sealed_link_token,
    status: row.status as ApprovalStatus,
    requestedAt: Number(row.requested_at),
    expiresAt: Number(row.expires_at),
    decidedBy: row.decided_by,
    decidedAt: row.decided_at === null ? null : Number(row.decided_at),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}
