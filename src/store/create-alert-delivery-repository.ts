import type { AlertDeliveryRepository } from './port.ts';
import type { StoreContext } from './store-context.ts';

/** Alerts raised per tenant and their delivery outcome (migration `0031_alert_deliveries`). */
export function createAlertDeliveryRepository({ run, read }: StoreContext): AlertDeliveryRepository {
  return {
    record: (tenantId, delivery) =>
      run('alertDeliveries.record', tenantId, async (db) => {
        await db
          .insertInto('alert_deliveries')
          .values({
            tenant_id: tenantId,
            alert_id: delivery.alertId,
            rule: delivery.rule,
            about: delivery.about.slice(0, 500),
            summary: delivery.summary.slice(0, 1_000),
            observed: Math.round(delivery.observed),
            threshold: Math.round(delivery.threshold),
            raised_at: delivery.raisedAt,
            outcome: delivery.outcome,
            updated_at: delivery.raisedAt,
          })
          .onConflict((c) => c.columns(['tenant_id', 'alert_id']).doNothing())
          .execute();
      }),

    setOutcome: (tenantId, alertId, outcome, at) =>
      run('alertDeliveries.setOutcome', tenantId, async (db) => {
        await db
          .updateTable('alert_deliveries')
          .set({ outcome, updated_at: at })
          .where('tenant_id', '=', tenantId)
          .where('alert_id', '=', alertId)
          .execute();
      }),

    recent: (tenantId, limit) =>
      read('alertDeliveries.recent', tenantId, async (db) => {
        const rows = await db
          .selectFrom('alert_deliveries')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy('raised_at', 'desc')
          .orderBy('alert_id')
          .limit(limit)
          .execute();
        return rows.map((r) => ({
          alertId: r.alert_id,
          rule: r.rule,
          about: r.about,
          summary: r.summary,
          observed: Number(r.observed),
          threshold: Number(r.threshold),
          raisedAt: Number(r.raised_at),
          outcome: r.outcome,
          updatedAt: Number(r.updated_at),
        }));
      }),
  };
}
