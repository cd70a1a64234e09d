import { escapeHtml } from '../../core/index.ts';
import type { AuditRecord } from '../../store/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import { type AuditFilters, parseAuditFilters, writeAuditExport } from '../create-audit-admin-routes.ts';
import { badge, csrfField, emptyState, table, timeOf } from './console-html.ts';
import type { ConsolePage, ConsolePageContext, ConsolePageResult } from './console-page.ts';
import { consoleHref, shown } from './render-console-page.ts';

const pageSize = 50;
/** The query parameters the filter form sends (the admin API's names). */
const filterNames = ['subject', 'tool', 'decision', 'kind', 'since', 'until'] as const;

/**
 * The audit page (roles that read the audit log): the tenant's records newest first, filtered by user (subject),
 * tool, decision, kind and time, 50 a page; "Verify the chain" recomputes the hash chain (as `gatehouse audit
 * verify` does); "Export NDJSON" downloads every matching record.
 */
export const auditPage: ConsolePage = {
  section: 'audit',
  path: '/audit',
  roles: adminRoleSets.readAudit,
  get: (context) => renderAudit(context),
  async post(context) {
    if (context.form.get('action') !== 'verify') return renderAudit(context);
    const report = await context.deps.verifyAudit(context.tenant);
    const text = report.ok
      ? `The audit chain is intact: ${report.checked} records checked (seq ${report.anchorSeq + 1} to ${report.headSeq}), ${report.checkpoints} signed checkpoints ${report.checkpointsAuthenticated ? 'verified' : 'matched (no key to check their signatures)'}.`
      : `The audit chain is broken at seq ${report.firstBadSeq}: ${report.problem}. Records from there on cannot be trusted; see docs/audit.md.`;
    return renderAudit(context, { kind: report.ok ? 'ok' : 'error', text });
  },
};

/** `GET /console/:tenant/audit/export?<filters>`: the matching records as NDJSON, oldest first. */
export const auditExportPage: ConsolePage = {
  section: 'audit',
  path: '/audit/export',
  roles: adminRoleSets.readAudit,
  async get(context) {
    const filters = filtersOf(context.query);
    return { kind: 'stream', write: (res) => writeAuditExport(res, context.deps.audit, context.tenant, filters) };
  },
};

async function renderAudit(
  context: ConsolePageContext,
  notice?: { kind: 'ok' | 'error'; text: string },
): Promise<ConsolePageResult> {
  const { query, tenant } = context;
  const filters = filtersOf(query);
  const before = query.get('before');
  const beforeSeq = before !== null && /^\d{1,15}$/.test(before) ? Number(before) : undefined;
  const records = await context.deps.audit.query({
    tenantId: tenant,
    ...filters,
    order: 'desc',
    limit: pageSize + 1,
    ...(beforeSeq === undefined ? {} : { beforeSeq }),
  });
  const page = records.slice(0, pageSize);
  const kept = new URLSearchParams();
  for (const name of filterNames) {
    const value = query.get(name);
    if (value !== null && value.trim() !== '') kept.set(name, value);
  }
  const here = consoleHref(tenant, 'audit');
  const last = page.at(-1)?.seq;
  const older =
    records.length > pageSize && last !== undefined
      ? `<a href="${escapeHtml(`${here}?${withParam(kept, 'before', String(last))}`)}" rel="next">Older records</a>`
      : '';
  const newest = beforeSeq === undefined ? '' : `<a href="${escapeHtml(`${here}?${kept}`)}">Newest records</a>`;
  const filtered = kept.size > 0;
  const list =
    page.length === 0
      ? emptyState(
          filtered || beforeSeq !== undefined
            ? `No record matches these filters. <a href="${escapeHtml(here)}">Clear the filters</a>.`
            : 'No record yet. Every tool call through a toolset of this tenant, and every security event (sign-ins, key and role changes), is recorded here: connect an MCP client with a client key (Users and keys) and call a tool.',
        )
      : table(
          ['Time (UTC)', 'Seq', 'Kind', 'User', 'Tool or event', 'Decision', 'Code', 'HTTP', 'ms', 'Toolset'],
          page.map(rowOf),
        );
  return {
    kind: 'page',
    title: 'Audit log',
    ...(notice ? { notice } : {}),
    body: `${filterForm(here, query)}
<div class="actions">
<form method="post" action="${escapeHtml(`${here}${query.size > 0 ? `?${query}` : ''}`)}" class="inline">${csrfField(context.csrfToken)}<input type="hidden" name="action" value="verify"><button type="submit" class="secondary">Verify the chain</button></form>
<a class="button-link" href="${escapeHtml(`${here}/export${kept.size > 0 ? `?${kept}` : ''}`)}" download>Export NDJSON${filtered ? ' (these filters)' : ''}</a>
</div>
<h2 class="visually-hidden">Records</h2>${list}<div class="pager">${newest}${older}</div>`,
  };
}

function rowOf(record: AuditRecord): string[] {
  return [
    timeOf(record.at),
    String(record.seq ?? ''),
    escapeHtml(record.kind),
    shown(record.subject),
    shown(record.kind === 'security' ? (record.event ?? record.tool) : record.tool),
    badge(record.decision),
    record.code === null ? '' : `<code>${escapeHtml(record.code)}</code>`,
    record.upstreamStatus === null ? '' : String(record.upstreamStatus),
    String(Math.round(record.latencyMs)),
    shown(record.toolset),
  ];
}

function filterForm(action: string, query: URLSearchParams): string {
  const value = (name: string) => escapeHtml(query.get(name) ?? '');
  const option = (name: string, option: string, label: string) =>
    `<option value="${option}"${query.get(name) === option ? ' selected' : ''}>${label}</option>`;
  return `<form method="get" action="${escapeHtml(action)}" class="filters" role="search" aria-label="Filter the audit log">
<label>User <input name="subject" value="${value('subject')}" maxlength="200" placeholder="subject or user id"></label>
<label>Tool <input name="tool" value="${value('tool')}" maxlength="200" placeholder="exact tool name"></label>
<label>Decision <select name="decision">${option('decision', '', 'any')}${option('decision', 'allow', 'allow')}${option('decision', 'deny', 'deny')}${option('decision', 'error', 'error')}</select></label>
<label>Kind <select name="kind">${option('kind', '', 'any')}${option('kind', 'tool_call', 'tool call')}${option('kind', 'tool_intent', 'tool intent')}${option('kind', 'security', 'security event')}</select></label>
<label>From (UTC) <input type="datetime-local" name="since" value="${value('since')}"></label>
<label>Until (UTC) <input type="datetime-local" name="until" value="${value('until')}"></label>
<button type="submit">Filter</button></form>`;
}

/** The form's filters; a `datetime-local` value (no zone) is read as UTC, like the page shows times. */
function filtersOf(query: URLSearchParams): AuditFilters {
  const normalised = new URLSearchParams();
  for (const name of filterNames) {
    const value = query.get(name);
    if (value === null) continue;
    const local = (name === 'since' || name === 'until') && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(value);
    normalised.set(name, local ? `${value}Z` : value);
  }
  return parseAuditFilters(normalised, true);
}

function withParam(params: URLSearchParams, name: string, value: string): string {
  const copy = new URLSearchParams(params);
  copy.set(name, value);
  return copy.toString();
}
