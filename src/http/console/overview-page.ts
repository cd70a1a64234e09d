import { unknownToolName } from '../../audit/index.ts';
import { escapeHtml } from '../../core/index.ts';
import type { AuditCounts, UsageSummary, UsageTotals } from '../../store/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import { attentionOf } from './connections-page.ts';
import { emptyState, table } from './console-html.ts';
import type { ConsolePage } from './console-page.ts';
import { type ChartBucket, renderBarChart } from './render-bar-chart.ts';
import { consoleHref, shown } from './render-console-page.ts';
import { runningTenantOf } from './tenant-document.ts';

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
const days = 14;
const hours = 24;
const topTools = 10;
/**
 * How late this process's own calls may show. A call is counted in memory and written with the rollup's next batch
 * (every 10 s); a view writes the batch early only when it is this old, so views never write more than once per
 * interval, however many there are (other processes' calls show after their own batch is written).
 */
const usageLatenessMs = 5_000;

/**
 * The overview (roles that read usage): tool calls, errors, denials and mean latency of the last 14 days per day
 * (from the daily usage rollup) and of the last 24 hours per hour (aggregated by the database from the audit log),
 * as charts drawn on the server; the most called tools of the 14 days; connections that need a person; calls
 * waiting for approval.
 */
export const overviewPage: ConsolePage = {
  section: 'overview',
  path: '/',
  roles: adminRoleSets.readUsage,
  async get(context) {
    const { tenant, deps } = context;
    const now = deps.now();
    const dayStart = Math.floor(now / dayMs) * dayMs - (days - 1) * dayMs;
    const hourStart = Math.floor(now / hourMs) * hourMs - (hours - 1) * hourMs;
    await deps.usage.flushOlderThan(usageLatenessMs);
    const [usage, hourly, connections, pending, running] = await Promise.all([
      deps.usage.summarize(tenant, dayOf(dayStart), dayOf(now), topTools),
      deps.audit.summarize({ tenantId: tenant, since: hourStart, until: now + 1, bucketMs: hourMs }),
      deps.gateway.connections?.list(tenant) ?? [],
      deps.gateway.approvals?.list(tenant, 'pending') ?? [],
      runningTenantOf(context),
    ]);
    const daily = summarizeUsage(usage);
    const dayBuckets = fill(daily.buckets, dayStart, dayMs, days, (at) => {
      const iso = new Date(at).toISOString();
      return { label: iso.slice(5, 10), title: iso.slice(0, 10) };
    });
    const hourBuckets = fill(hourly.buckets, hourStart, hourMs, hours, (at) => {
      const iso = new Date(at).toISOString();
      return { label: `${iso.slice(11, 13)}h`, title: `${iso.slice(0, 10)} ${iso.slice(11, 13)}:00 UTC` };
    });
    const totals = sum(daily.buckets);
    const attention = connections.flatMap((c) => {
      const why = attentionOf(c, now);
      return why === undefined ? [] : [{ connection: c, why }];
    });
    const toolsets = running?.toolsets ?? [];
    const cards = [
      ['Calls, 14 days', formatCount(totals.calls)],
      ['Errors', formatCount(totals.errors)],
      ['Denials', formatCount(totals.denials)],
      ['Mean latency', totals.calls === 0 ? '-' : `${totals.latencyMs} ms`],
      ['Waiting for approval', String(pending.length)],
    ]
      .map(
        ([label, value]) =>
          `<div class="card"><div class="value">${value}</div><div class="label">${label}</div></div>`,
      )
      .join('');
    const legend =
      '<div class="legend" aria-hidden="true"><span class="calls">calls</span><span class="errors">errors</span><span class="denials">denials</span></div>';
    const charts =
      totals.calls === 0 && sum(hourly.buckets).calls === 0
        ? emptyState(
            `No tool call in the last ${days} days. Create a client key (<a href="${escapeHtml(consoleHref(tenant, 'users'))}">Users and keys</a>) and point an MCP client at ${
              toolsets.length === 0
                ? 'a toolset (add one first under Toolsets)'
                : toolsets.map((t) => `<code>${shown(t.url)}</code>`).join(' or ')
            }; its calls show here.`,
          )
        : `<div class="charts">
<div class="panel"><h2>Calls per day</h2>${legend}${renderBarChart(dayBuckets, 'calls', `Calls, errors and denials per day, last ${days} days`)}</div>
<div class="panel"><h2>Mean latency per day</h2>${renderBarChart(dayBuckets, 'latency', `Mean latency in milliseconds per day, last ${days} days`)}</div>
<div class="panel"><h2>Calls per hour</h2>${legend}${renderBarChart(hourBuckets, 'calls', `Calls, errors and denials per hour, last ${hours} hours`)}</div>
<div class="panel"><h2>Mean latency per hour</h2>${renderBarChart(hourBuckets, 'latency', `Mean latency in milliseconds per hour, last ${hours} hours`)}</div>
</div>`;
    const audit = consoleHref(tenant, 'audit');
    const tools =
      daily.tools.length === 0
        ? emptyState('No tool was called yet.')
        : table(
            ['Tool', 'Calls', 'Errors', 'Denials', 'Mean ms'],
            daily.tools.map((t) => [
              // Every name no tool has is one row; the audit log keeps the names asked for, so no link.
              t.tool === unknownToolName
                ? 'Unknown tool names (not found)'
                : `<a href="${escapeHtml(`${audit}?${new URLSearchParams({ tool: t.tool })}`)}">${shown(t.tool)}</a>`,
              formatCount(t.calls),
              formatCount(t.errors),
              formatCount(t.denials),
              String(t.latencyMs),
            ]),
          );
    const needing =
      attention.length === 0
        ? emptyState('Every connected account works.')
        : table(
            ['Service', 'User', 'Why'],
            attention.map(({ connection, why }) => [
              shown(connection.service),
              shown(connection.subject),
              escapeHtml(why),
            ]),
          ) +
          `<p><a href="${escapeHtml(consoleHref(tenant, 'connections'))}">Reconnect on the Connections page</a></p>`;
    const approvals =
      pending.length === 0
        ? ''
        : `<p class="notice notice-ok"><a href="${escapeHtml(consoleHref(tenant, 'approvals'))}">${pending.length} call${pending.length === 1 ? '' : 's'} wait${pending.length === 1 ? 's' : ''} for approval</a></p>`;
    return {
      kind: 'page',
      title: 'Overview',
      body: `${approvals}<div class="cards">${cards}</div>${charts}<h2>Top tools, ${days} days</h2>${tools}<h2>Connections needing attention</h2>${needing}`,
    };
  },
};

/** The daily rollup's sums as buckets per day and the most called tools, with mean latencies. */
function summarizeUsage(summary: UsageSummary): {
  buckets: (AuditCounts & { start: number })[];
  tools: (AuditCounts & { tool: string })[];
} {
  return {
    buckets: summary.days.map((d) => ({ start: Date.parse(`${d.day}T00:00:00Z`), ...meanOf(d) })),
    tools: summary.tools.map((t) => ({ tool: t.tool, ...meanOf(t) })),
  };
}

function meanOf(t: UsageTotals): AuditCounts {
  return {
    calls: t.calls,
    errors: t.errors,
    denials: t.denials,
    latencyMs: t.calls === 0 ? 0 : Math.round(t.latencyMsTotal / t.calls),
  };
}

function dayOf(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** Every bucket of the window, oldest first, the empty ones as zeros. */
function fill(
  buckets: readonly (AuditCounts & { readonly start: number })[],
  start: number,
  size: number,
  count: number,
  labelOf: (at: number) => { label: string; title: string },
): ChartBucket[] {
  const byStart = new Map(buckets.map((b) => [b.start, b]));
  return Array.from({ length: count }, (_, i) => {
    const at = start + i * size;
    const found = byStart.get(at);
    return {
      ...labelOf(at),
      calls: found?.calls ?? 0,
      errors: found?.errors ?? 0,
      denials: found?.denials ?? 0,
      latencyMs: found?.latencyMs ?? 0,
    };
  });
}

function sum(buckets: readonly AuditCounts[]): AuditCounts {
  let calls = 0;
  let errors = 0;
  let denials = 0;
  let latency = 0;
  for (const b of buckets) {
    calls += b.calls;
    errors += b.errors;
    denials += b.denials;
    latency += b.latencyMs * b.calls;
  }
  return { calls, errors, denials, latencyMs: calls === 0 ? 0 : Math.round(latency / calls) };
}

function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}
