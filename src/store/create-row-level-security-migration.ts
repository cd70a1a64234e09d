import { type Kysely, type Migration, sql } from 'kysely';
import type { StoreFeatures } from './store-features.ts';

/**
 * Every tenant-owned table and the column naming its tenant (`tenants` is keyed by the tenant id itself).
 * A table added later that has a `tenant_id` column needs its own migration enabling the same policy; the
 * MT-03/04 test fails for any tenant table without forced row-level security.
 */
export const tenantTables: readonly (readonly [table: string, column: string])[] = [
  ['tenants', 'id'],
  ['client_keys', 'tenant_id'],
  ['data_keys', 'tenant_id'],
  ['secrets', 'tenant_id'],
  ['audit_records', 'tenant_id'],
  ['audit_heads', 'tenant_id'],
  ['audit_keys', 'tenant_id'],
  ['connections', 'tenant_id'],
  ['connect_links', 'tenant_id'],
  ['oauth_authorizations', 'tenant_id'],
  ['connect_keys', 'tenant_id'],
  ['usage_daily', 'tenant_id'],
  ['approvals', 'tenant_id'],
];

/** The setting a session names its tenant with; `*` is the system value (every tenant). */
export const tenantSetting = 'gatehouse.tenant';

/** The value of `tenantSetting` the policies read as "every tenant" (the store names it `allTenants`). */
export const allTenantsSetting = '*';

/**
 * `0008_row_level_security` (PostgreSQL only; SQLite has no roles and nothing to do, MT-03/04):
 * row-level security ENABLED and FORCED (so the table owner is bound too) on every tenant table, with one policy
 * `tenant_isolation`: a row is visible and writable only when its tenant equals the session's `gatehouse.tenant`
 * setting, or when that setting is `*` (system work). A session without the setting (a role connecting with
 * psql, a reporting tool, a bug that forgot to set it) sees zero rows and can write none.
 *
 * The PostgreSQL adapter sets `gatehouse.tenant=*` on its own connections (startup option), so the gateway's
 * cross-tenant lookups (client key by hash, tenants, audit chain internals) keep working whatever role it runs
 * as. Superusers and roles with BYPASSRLS are never bound by row-level security (PostgreSQL rule).
 */
export function createRowLevelSecurityMigration(features: StoreFeatures): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (features.dialect !== 'postgres') return;
      for (const [table, column] of tenantTables) await isolateTenantTable(db, table, column);
    },
    async down(db: Kysely<unknown>) {
      if (features.dialect !== 'postgres') return;
      for (const [table] of tenantTables) {
        await sql.raw(`drop policy if exists tenant_isolation on ${table}`).execute(db);
        await sql.raw(`alter table ${table} no force row level security`).execute(db);
        await sql.raw(`alter table ${table} disable row level security`).execute(db);
      }
    },
  };
}

/**
 * The `tenant_isolation` policy on one tenant table (PostgreSQL; row-level security enabled and forced), for a
 * migration that adds a tenant table after `0008_row_level_security`.
 */
export async function isolateTenantTable(db: Kysely<unknown>, table: string, column = 'tenant_id'): Promise<void> {
  const rule = `(${column} = current_setting('${tenantSetting}', true) or current_setting('${tenantSetting}', true) = '*')`;
  await sql.raw(`alter table ${table} enable row level security`).execute(db);
  await sql.raw(`alter table ${table} force row level security`).execute(db);
  await sql.raw(`create policy tenant_isolation on ${table} using ${rule} with check ${rule}`).execute(db);
}
