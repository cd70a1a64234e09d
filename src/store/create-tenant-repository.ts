import type { TenantRepository } from './port.ts';
import { allTenants, type StoreContext } from './store-context.ts';

export function createTenantRepository({ read }: StoreContext): TenantRepository {
  return {
    ensure: (tenantId, at) =>
      read('tenants.ensure', tenantId, async (db) => {
        await db
          .insertInto('tenants')
          .values({ id: tenantId, created_at: at })
          .onConflict((c) => c.column('id').doNothing())
          .execute();
      }),
    list: () =>
      read('tenants.list', allTenants, async (db) => {
        const rows = await db.selectFrom('tenants').select('id').orderBy('id').execute();
        return rows.map((r) => r.id);
      }),
    isPurged: (tenantId) =>
      read('tenants.isPurged', tenantId, async (db) => {
        const row = await db
          .selectFrom('audit_keys')
          .select((eb) => [
            eb
              .exists(eb.selectFrom('data_keys').select('tenant_id').where('tenant_id', '=', tenantId))
              .as('has_data_key'),
          ])
          .where('tenant_id', '=', tenantId)
          .executeTakeFirst();
        return row !== undefined && !row.has_data_key;
      }),
  };
}
