import { sql } from 'kysely';
import type { TenantPurgeCounts } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { StoreDatabase } from './store-database.ts';

/**
 * What a tenant purge does with the tenant's rows of each table (docs/operations.md "Removing a tenant"):
 * `delete` them, or `keep` them (`no_tenant`: the table holds no tenant's rows). Only the audit log is kept (append-only, hash-chained; its triggers refuse
 * deletes above the anchor): its records, head, checkpoints, PostgreSQL sequence counter, and its audit key, which
 * is sealed by the tenant's data keys and so no longer opens once they are gone (`audit verify` then reports
 * `checkpoint_key_unavailable` instead of mistaking the tenant for an unknown one).
 *
 * Typed over every table of `StoreDatabase`, so a table added there does not compile until it is classified here;
 * the purge test reads the tables with a tenant column from the live schema, so a table created by a migration but
 * missing here fails it.
 */
export const tenantPurgePlan = {
  tenants: 'delete',
  tenant_configs: 'delete',
  tenant_config_revisions: 'delete',
  client_keys: 'delete',
  client_key_revocations: 'delete',
  data_keys: 'delete',
  secrets: 'delete',
  connections: 'delete',
  connect_links: 'delete',
  oauth_authorizations: 'delete',
  connect_keys: 'delete',
  approvals: 'delete',
  approval_tasks: 'delete',
  usage_daily: 'delete',
  users: 'delete',
  user_sessions: 'delete',
  user_roles: 'delete',
  user_api_tokens: 'delete',
  user_api_token_uses: 'delete',
  oauth_server_records: 'delete',
  oauth_server_keys: 'delete',
  oauth_consents: 'delete',
  service_descriptions: 'delete',
  alert_deliveries: 'delete',
  audit_records: 'keep',
  audit_heads: 'keep',
  audit_checkpoints: 'keep',
  audit_sequences: 'keep',
  audit_keys: 'keep',
  // The operator's ended console sessions: the operator belongs to no tenant.
  operator_session_ends: 'no_tenant',
} as const satisfies Record<keyof StoreDatabase, 'delete' | 'keep' | 'no_tenant'>;

/** The column naming a table's tenant: `tenants` is keyed by the tenant id itself. */
export const tenantColumnOf = (table: keyof StoreDatabase): string => (table === 'tenants' ? 'id' : 'tenant_id');

/**
 * Deletes every row of `tenantId` in the tables `tenantPurgePlan` marks `delete`, in one transaction (all or
 * nothing; on PostgreSQL the tenant's own transaction, so row-level security confines it to the tenant). The
 * data keys go with the rest: this is the crypto-shredding, so a ciphertext of the tenant left anywhere else (a
 * backup) no longer decrypts. Returns the rows deleted per table.
 */
export function purgeTenant({ transaction }: StoreContext, tenantId: string): Promise<TenantPurgeCounts> {
  return transaction('tenant.purge', tenantId, async (trx) => {
    const counts: Partial<Record<keyof StoreDatabase, number>> = {};
    for (const [table, fate] of Object.entries(tenantPurgePlan) as [keyof StoreDatabase, string][]) {
      if (fate !== 'delete') continue;
      const result =
        await sql`delete from ${sql.table(table)} where ${sql.ref(tenantColumnOf(table))} = ${tenantId}`.execute(trx);
      counts[table] = Number(result.numAffectedRows ?? 0);
    }
    return counts;
  });
}
