import type { UsageRepository, UsageRow } from './port.ts';
import type { StoreContext } from './store-context.ts';

/**
 * Daily usage counters. `add` is an upsert that adds to the stored counts (`calls = calls + excluded.calls`), so
 * several processes can flush their batches into the same rows without reading them first.
 */
export function createUsageRepository({ db, run }: StoreContext): UsageRepository {
  return {
    deleteTenant: (tenantId) =>
      run('usage.deleteTenant', async () => {
        const result = await db.deleteFrom('usage_daily').where('tenant_id', '=', tenantId).executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
    add: (rows) =>
      run('usage.add', async () => {
        if (rows.length === 0) return;
        await db.transaction().execute(async (trx) => {
          for (const row of rows) {
            await trx
              .insertInto('usage_daily')
              .values({
                tenant_id: row.tenantId,
                day: row.day,
                toolset: row.toolset,
                tool: row.tool,
                calls: row.calls,
                errors: row.errors,
                denials: row.denials,
              })
              .onConflict((c) =>
                c.columns(['tenant_id', 'day', 'toolset', 'tool']).doUpdateSet((eb) => ({
                  calls: eb('usage_daily.calls', '+', eb.ref('excluded.calls')),
                  errors: eb('usage_daily.errors', '+', eb.ref('excluded.errors')),
                  denials: eb('usage_daily.denials', '+', eb.ref('excluded.denials')),
                })),
              )
              .execute();
          }
        });
      }),
    query: (tenantId, from, to) =>
      run('usage.query', async () => {
        const rows = await db
          .selectFrom('usage_daily')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('day', '>=', from)
          .where('day', '<=', to)
          .orderBy('day')
          .orderBy('toolset')
          .orderBy('tool')
          .limit(100_000)
          .execute();
        return rows.map(
          (row): UsageRow => ({
            tenantId: row.tenant_id,
            day: row.day,
            toolset: row.toolset,
            tool: row.tool,
            calls: Number(row.calls),
            errors: Number(row.errors),
            denials: Number(row.denials),
          }),
        );
      }),
  };
}
