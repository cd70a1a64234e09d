import { GatehouseError } from '../core/index.ts';
import type { UsageRow } from '../store/index.ts';
import { type AdminRoute, adminRoleSets } from './create-admin-routes.ts';

export interface UsageAdminOptions {
  /** True when the tenant exists (an unknown tenant answers the same 404 as any missing id, MT-01). */
  hasTenant(tenant: string): boolean;
  /** The stored daily rows of a tenant between two inclusive UTC dates. */
  readUsage(tenant: string, from: string, to: string): Promise<readonly UsageRow[]>;
  /** Writes pending counts before reading, so a query sees calls up to now. */
  flush?(): Promise<void>;
  /** Today's date (UTC, `YYYY-MM-DD`), for the default window. */
  today(): string;
}

const date = /^\d{4}-\d{2}-\d{2}$/;
const maxDays = 366;

/**
 * `GET /api/v1/tenants/:tenant/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`: daily calls, errors and denials per toolset
 * and tool, plus totals. Defaults: the last 30 days up to today; at most 366 days per query.
 */
export function createUsageAdminRoutes(options: UsageAdminOptions): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/tenants/:tenant/usage',
      summary: 'Daily usage (calls, errors, denials) per toolset and tool; ?from=&to= as YYYY-MM-DD (UTC)',
      roles: adminRoleSets.readUsage,
      query: {
        from: 'First day, YYYY-MM-DD (UTC; default 29 days before to)',
        to: 'Last day, YYYY-MM-DD (UTC; default today)',
      },
      handle: async ({ params, query }) => {
        const tenant = params['tenant'] as string;
        if (!options.hasTenant(tenant)) throw new GatehouseError('not_found', `No tenant ${tenant}`);
        const to = query.get('to') ?? options.today();
        const from = query.get('from') ?? shiftDays(to, -29);
        for (const [name, value] of [
          ['from', from],
          ['to', to],
        ] as const) {
          if (!date.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
            throw new GatehouseError('invalid_request', `Query parameter ${name} must be a date YYYY-MM-DD`, {
              parameter: name,
            });
          }
        }
        const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
        if (days < 1 || days > maxDays) {
          throw new GatehouseError(
            'invalid_request',
            `from must not be after to, and the window at most ${maxDays} days`,
          );
        }
        await options.flush?.();
        const rows = await options.readUsage(tenant, from, to);
        const totals = { calls: 0, errors: 0, denials: 0 };
        for (const row of rows) {
          totals.calls += row.calls;
          totals.errors += row.errors;
          totals.denials += row.denials;
        }
        return {
          body: {
            tenant,
            from,
            to,
            totals,
            days: rows.map(({ day, toolset, tool, calls, errors, denials }) => ({
              day,
              toolset,
              tool,
              calls,
              errors,
              denials,
            })),
          },
        };
      },
    },
  ];
}

function shiftDays(day: string, delta: number): string {
  const at = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(at) ? day : new Date(at + delta * 86_400_000).toISOString().slice(0, 10);
}
