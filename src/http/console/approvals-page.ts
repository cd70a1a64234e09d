import { escapeHtml, GatehouseError } from '../../core/index.ts';
import type { ApprovalView } from '../../gateway/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import { badge, emptyState, postButton, table, timeOf } from './console-html.ts';
import type { ConsolePage, ConsolePageContext, ConsolePageResult } from './console-page.ts';
import { consoleHref, shown } from './render-console-page.ts';

const historySize = 50;

/**
 * The approvals inbox (roles that decide approvals): every pending call with its arguments shown exactly as the
 * agent sent them (pretty JSON, invisible and bidi characters marked, CP-04), approve or deny each; below, the
 * latest decided requests. A decision here is the same as through the admin API (single use, expiring), recorded
 * with the deciding user and the channel `console`.
 */
export const approvalsPage: ConsolePage = {
  section: 'approvals',
  path: '/approvals',
  roles: adminRoleSets.decideApprovals,
  get: (context) => renderApprovals(context),
  async post(context) {
    const approvals = approvalsOf(context);
    const action = context.form.get('action');
    const id = context.form.get('id') ?? '';
    if (action !== 'approve' && action !== 'deny') {
      throw new GatehouseError('invalid_request', 'action: expected approve or deny', { field: 'action' });
    }
    const decided = await approvals.decide(
      context.tenant,
      id,
      action === 'approve' ? 'approved' : 'denied',
      context.actor,
      'console',
    );
    const text =
      action === 'approve'
        ? `Approved ${decided.tool} for ${decided.subject}: the agent's next identical call runs, once, until ${decided.expiresAt}.`
        : `Denied ${decided.tool} for ${decided.subject}.`;
    return renderApprovals(context, { kind: 'ok', text });
  },
};

function approvalsOf(context: ConsolePageContext) {
  const approvals = context.deps.gateway.approvals;
  if (approvals === undefined) throw new GatehouseError('not_found', 'Approvals are not enabled on this gateway');
  return approvals;
}

async function renderApprovals(
  context: ConsolePageContext,
  notice?: { kind: 'ok' | 'error'; text: string },
): Promise<ConsolePageResult> {
  const all = await approvalsOf(context).list(context.tenant);
  const pending = all.filter((a) => a.status === 'pending');
  const history = all.filter((a) => a.status !== 'pending').slice(0, historySize);
  const action = consoleHref(context.tenant, 'approvals');
  const inbox =
    pending.length === 0
      ? emptyState(
          'Nothing waits for a decision. Calls of tools a toolset marks for approval (<code>approval: destructive</code> or a list of tools) appear here when an agent makes them; the agent is told to call again once you approve.',
        )
      : pending.map((a) => pendingCard(a, action, context.csrfToken)).join('');
  const decided =
    history.length === 0
      ? emptyState('No decision yet.')
      : table(
          ['Requested (UTC)', 'Tool', 'User', 'Status', 'Decided by', 'Decided (UTC)'],
          history.map((a) => [
            timeOf(a.requestedAt),
            shown(a.tool),
            shown(a.subject),
            badge(a.status),
            a.decidedBy === null ? '-' : shown(a.decidedBy),
            timeOf(a.decidedAt),
          ]),
        );
  return {
    kind: 'page',
    title: 'Approvals',
    ...(notice ? { notice } : {}),
    body: `<h2>Waiting for a decision (${pending.length})</h2>${inbox}<h2>History</h2>${decided}`,
  };
}

function pendingCard(approval: ApprovalView, action: string, csrf: string): string {
  const args = JSON.stringify(approval.arguments, null, 2) ?? 'undefined';
  const form = (decision: 'approve' | 'deny', label: string, css: string, confirm: string) =>
    postButton(
      action,
      csrf,
      { id: approval.id, action: decision },
      `${label}<span class="visually-hidden"> ${escapeHtml(approval.tool)} (${escapeHtml(approval.id)})</span>`,
      { css, confirm },
    );
  return `<section class="approval" aria-label="${escapeHtml(`${approval.tool} for ${approval.subject}`)}">
<h3>${shown(approval.tool)}</h3>
<dl><dt>Toolset</dt><dd>${shown(approval.toolset)}</dd><dt>Client key</dt><dd>${shown(approval.clientKey)}</dd><dt>For user</dt><dd>${shown(approval.subject)}</dd>
<dt>Requested</dt><dd>${timeOf(approval.requestedAt)}</dd><dt>Expires</dt><dd>${timeOf(approval.expiresAt)}</dd>
<dt>Arguments</dt><dd><pre class="args">${shown(args)}</pre></dd><dt>SHA-256</dt><dd><code>${escapeHtml(approval.argumentsHash)}</code></dd></dl>
<div class="actions">${form('approve', 'Approve', '', `Approve ${approval.tool} with exactly these arguments?`)}${form('deny', 'Deny', 'danger', `Deny ${approval.tool}?`)}</div>
</section>`;
}
