import { escapeHtml } from '../../core/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import type { ConsolePage } from './console-page.ts';
import { shown } from './render-console-page.ts';

/**
 * Alerts (issue 14): the rules in force (the config file's `alerts`, the same for every tenant) and the alerts this
 * tenant raised recently with what became of each, newest first.
 */
export const alertsPage: ConsolePage = {
  section: 'alerts',
  path: '/alerts',
  roles: adminRoleSets.readUsage,
  get: async ({ deps, tenant }) => {
    const alerts = deps.alerts;
    if (alerts === undefined) {
      return { kind: 'page', title: 'Alerts', body: '<p class="empty">Alerts are not available on this gateway.</p>' };
    }
    const recent = await alerts.recent(tenant, 100);
    const rules = alerts.rules
      .map(
        (r) =>
          `<tr><td data-label="Rule"><code>${escapeHtml(r.rule)}</code></td><td data-label="Raised when">${escapeHtml(r.description)}</td><td data-label="Threshold" class="num">${r.threshold}</td></tr>`,
      )
      .join('');
    const where =
      alerts.webhookOrigin === null
        ? 'Alerts are written to the log only. To be told, set <code>alerts.webhookUrl</code> and <code>alerts.webhookSecret</code> in the config file.'
        : `Alerts are sent, signed, to the webhook at <code>${escapeHtml(alerts.webhookOrigin)}</code> and written to the log.`;
    const deliveries =
      recent.length === 0
        ? `<p class="empty">No alerts raised yet. An alert appears here when a rule below is crossed within one ${alerts.windowSeconds}-second window (or at once for a connection that needs its user to connect again).</p>`
        : `<div class="scroll"><table class="stack-on-phone" id="alert-deliveries"><thead><tr><th>Raised</th><th>Rule</th><th>About</th><th>What happened</th><th class="num">Seen / threshold</th><th>Outcome</th></tr></thead><tbody>${recent
            .map(
              (d) =>
                `<tr><td data-label="Raised">${new Date(d.raisedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC</td><td data-label="Rule"><code>${escapeHtml(d.rule)}</code></td><td data-label="About">${shown(d.about)}</td><td data-label="What happened">${shown(d.summary)}</td><td data-label="Seen / threshold" class="num">${d.observed} / ${d.threshold}</td><td data-label="Outcome"><span class="badge badge-${d.outcome === 'delivered' || d.outcome === 'logged' ? 'ok' : d.outcome === 'queued' ? 'pending' : 'bad'}">${escapeHtml(d.outcome)}</span></td></tr>`,
            )
            .join('')}</tbody></table></div>`;
    return {
      kind: 'page',
      title: 'Alerts',
      body: `<h2>Recent alerts</h2>${deliveries}<h2>Rules</h2><p>${where} Each rule counts within a ${alerts.windowSeconds}-second window; the same alert is raised at most once every ${alerts.dedupSeconds} seconds. The rules are set in the config file (<code>alerts:</code>) for every tenant.</p><div class="scroll"><table class="stack-on-phone"><thead><tr><th>Rule</th><th>Raised when</th><th class="num">Threshold</th></tr></thead><tbody>${rules}</tbody></table></div>`,
    };
  },
};
