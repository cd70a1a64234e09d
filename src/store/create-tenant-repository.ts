import type { TenantRepository } from './port.ts';
import type { StoreContext } from './store-context.ts';

export function createTenantRepository({ db, run }: StoreContext): TenantRepository {
  return {
    ensure: (tenantId, at) =>
      run('tenants.ensure', async () => {
        await db
          .insertInto('tenants')
          .values({ id: tenantId, created_at: at })
          .onConflict((c) => c.column('id').doNothing())
          .execute();
      }),
    list: () =>
      run('tenants.list', async () => {
        const rows = await db.selectFrom('tenants').select('id').orderBy('id').execute();
        return rows.map((r) => r.id);
      }),
  };
}
