import { z } from 'zod';
import { GatehouseError } from '../core/index.ts';
import type { AlertDelivery } from '../store/index.ts';
import { type AdminRoute, adminRoleSets } from './create-admin-routes.ts';

/** One alert rule as it is in force (the config file's `alerts`; every tenant has the same rules). */
export interface AlertRuleView {
  readonly rule: string;
  readonly description: string;
  /** The count that raises it within one window (for `call_volume`: the factor over the baseline). */
  readonly threshold: number;
}

export interface AlertAdminOptions {
  /** True when the tenant exists (an unknown tenant answers the same 404 as any missing id). */
  hasTenant(tenant: string): boolean;
  readonly rules: readonly AlertRuleView[];
  readonly windowSeconds: number;
  readonly dedupSeconds: number;
  /** Where the webhook goes (its origin only: a URL may carry a token in its path or query); null: logged only. */
  readonly webhookOrigin: string | null;
  recent(tenant: string, limit: number): Promise<readonly AlertDelivery[]>;
}

const maxLimit = 200;

const ruleSchema = z.object({ rule: z.string(), description: z.string(), threshold: z.number() });
const deliverySchema = z.object({
  alertId: z.string(),
  rule: z.string(),
  about: z.string(),
  summary: z.string(),
  observed: z.number(),
  threshold: z.number(),
  raisedAt: z.string().describe('ISO 8601'),
  outcome: z.enum(['logged', 'queued', 'delivered', 'failed', 'dropped']),
  updatedAt: z.string(),
});

/**
 * Alerts in the admin API (issue 14): the rules in force with their thresholds and where alerts go, and the
 * alerts the tenant raised recently with what became of each (read-only; the rules are the config file's
 * `alerts`, the same for every tenant).
 */
export function createAlertAdminRoutes(options: AlertAdminOptions): AdminRoute[] {
  const tenantOf = (params: Readonly<Record<string, string>>) => {
    const tenant = params['tenant'] as string;
    if (!options.hasTenant(tenant)) throw new GatehouseError('not_found', `No tenant ${tenant}`);
    return tenant;
  };
  return [
    {
      method: 'GET',
      path: '/tenants/:tenant/alerts/rules',
      summary: 'The alert rules in force (thresholds per window, deduplication) and where alerts are sent',
      roles: adminRoleSets.readUsage,
      responseSchema: z.object({
        rules: z.array(ruleSchema),
        windowSeconds: z.number(),
        dedupSeconds: z.number(),
        webhook: z.object({ configured: z.boolean(), origin: z.string().nullable() }),
      }),
      handle: ({ params }) => {
        tenantOf(params);
        return {
          body: {
            rules: options.rules,
            windowSeconds: options.windowSeconds,
            dedupSeconds: options.dedupSeconds,
            webhook: { configured: options.webhookOrigin !== null, origin: options.webhookOrigin },
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/tenants/:tenant/alerts/deliveries',
      summary: 'Alerts the tenant raised, newest first, with their delivery outcome; ?limit= (1-200, default 50)',
      roles: adminRoleSets.readUsage,
      query: { limit: `How many, 1-${maxLimit} (default 50)` },
      responseSchema: z.object({ items: z.array(deliverySchema) }),
      handle: async ({ params, query }) => {
        const tenant = tenantOf(params);
        const raw = query.get('limit');
        const limit = raw === null ? 50 : Number(raw);
        if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
          throw new GatehouseError('invalid_request', `limit: expected a whole number from 1 to ${maxLimit}`, {
            field: 'limit',
          });
        }
        const items = await options.recent(tenant, limit);
        return {
          body: {
            items: items.map((d) => ({
              ...d,
              raisedAt: new Date(d.raisedAt).toISOString(),
              updatedAt: new Date(d.updatedAt).toISOString(),
            })),
          },
        };
      },
    },
  ];
}
