import { sql } from 'kysely';
import type { UsageRepository, UsageRow } from './port.ts';
import type { StoreContext } from './store-context.ts';

/**
 * Daily usage counters. `add` is an upsert that adds to the stored counts (`calls = calls + excluded.calls`), so
 * several processes can flush their batches into the same rows without reading them first.
 */
export function createUsageRepository({ read, transaction }: StoreContext): UsageRepository {
  return {
    // One transaction per tenant of the batch (a flush may carry several): each is scoped to its tenant.
    add: async (rows) => {
      const byTenant = new Map<string, UsageRow[]>();
      for (const row of rows) {
        const group = byTenant.get(row.tenantId);
        if (group === undefined) byTenant.set(row.tenantId, [row]);
        else group.push(row);
      }
      for (const [tenantId, group] of byTenant) {
        await transaction('usage.add', tenantId, async (trx) => {
          for (const row of group) {
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
                latency_ms_total: row.latencyMsTotal ?? 0,
              })
              .onConflict((c) =>
                c.columns(['tenant_id', 'day', 'toolset', 'tool']).doUpdateSet((eb) => ({
                  calls: eb('usage_daily.calls', '+', eb.ref('excluded.calls')),
                  errors: eb('usage_daily.errors', '+', eb.ref('excluded.errors')),
                  denials: eb('usage_daily.denials', '+', eb.ref('excluded.denials')),
                  latency_ms_total: eb('usage_daily.latency_ms_total', '+', eb.ref('excluded.latency_ms_total')),
                })),
              )
              .execute();
          }
        });
      }
    },
    summarize: (tenantId, from, to, topTools) =>
      read('usage.summarize', tenantId, async (db) => {
        const window = db
          .selectFrom('usage_daily')
          .where('tenant_id', '=', tenantId)
          .where('day', '>=', from)
          .where('day', '<=', to);
        const sums = [
          sql<number | string>`sum(calls)`.as('calls'),
          sql<number | string>`sum(errors)`.as('errors'),
          sql<number | string>`sum(denials)`.as('denials'),
          sql<number | string>`sum(latency_ms_total)`.as('latency_ms_total'),
        ] as const;
        const days = await window
          .select(['day', ...sums])
          .groupBy('day')
          .orderBy('day')
          .execute();
        const tools = await window
          .select(['tool', ...sums])
          .groupBy('tool')
          .orderBy(sql`sum(calls)`, 'desc')
          .orderBy('tool')
          .limit(Math.max(0, Math.trunc(topTools)))
          .execute();
        const totals = (row: {
          calls: number | string;
          errors: number | string;
          denials: number | string;
          latency_ms_total: number | string;
        }) => ({
          calls: Number(row.calls),
          errors: Number(row.errors),
          denials: Number(row.denials),
          latencyMsTotal: Number(row.latency_ms_total),
        });
        return {
          days: days.map((row) => ({ day: row.day, ...totals(row) })),
          tools: tools.map((row) => ({ tool: row.tool, ...totals(row) })),
        };
      }),
    query: (tenantId, from, to) =>
      read('usage.query', tenantId, async (db) => {
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
            latencyMsTotal: Number(row.latency_ms_total),
          }),
        );
      }),
  };
}
