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
  };
}
