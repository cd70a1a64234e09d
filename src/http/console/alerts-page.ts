import { escapeHtml, GatehouseError, httpStatusOf, isGatehouseError, tenantAlertMetrics } from '../../core/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import { badge, csrfField, emptyState, postButton, table } from './console-html.ts';
import {
  type ConsolePage,
  type ConsolePageContext,
  type ConsolePageResult,
  isShownError,
  StaleFormError,
} from './console-page.ts';
import { consoleHref, shown } from './render-console-page.ts';
import {
  changeTenantDocument,
  checkFormVersion,
  readTenantDocument,
  versionField,
  versionOf,
} from './tenant-document.ts';

type Rule = Record<string, unknown>;

/** What each metric counts, as the page says it. */
const metricLabels: Record<(typeof tenantAlertMetrics)[number], string> = {
  tool_calls: 'calls of one tool',
  upstream_errors: 'upstream failures of one service',
  policy_denials: 'denied calls of one client key',
  refresh_failures: 'failed token refreshes of one service',
};
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envReference = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * Alerts (issue 14): the alerts this tenant raised recently with what became of each, newest first; the tenant's
 * own rules (the tenant document's `alertRules`), which an owner or admin adds, edits, disables and deletes here;
 * and the operator's rules (the config file's `alerts`, the same for every tenant), read-only.
 */
export const alertsPage: ConsolePage = {
  section: 'alerts',
  path: '/alerts',
  roles: adminRoleSets.readUsage,
  get: async (context) => render(context),
  post: async (context) => {
    if (!mayEdit(context)) {
      throw new GatehouseError('forbidden', "Only a tenant's owner or admin changes its alert rules");
    }
    const { form } = context;
    const action = form.get('action');
    const id = form.get('id')?.trim() ?? '';
    if (action === 'save') {
      let replaced = false;
      try {
        const rule = ruleOf(form, id);
        await save(context, `alert rule ${id} saved`, id, (rules) => {
          const index = rules.findIndex((r) => r['id'] === id);
          replaced = index !== -1;
          return index === -1 ? [...rules, rule] : rules.map((r, i) => (i === index ? rule : r));
        });
      } catch (error) {
        // Shown with the form as it was sent, so one wrong field does not cost the others.
        // A stale form gets the console's own page (what was sent, a link to the current version).
        if (!isShownError(error) || error instanceof StaleFormError) throw error;
        const page = await render(context);
        return { ...page, status: httpStatusOf[error.code], notice: { kind: 'error', text: error.message } };
      }
      return redirect(context, `${replaced ? 'saved' : 'added'}=${encodeURIComponent(id)}`);
    }
    if (action === 'enable' || action === 'disable') {
      await save(context, `alert rule ${id} ${action}d`, id, (rules) =>
        rules.map((r) => (r['id'] === id ? { ...r, enabled: action === 'enable' } : r)),
      );
      return redirect(context, `${action}d=${encodeURIComponent(id)}`);
    }
    if (action === 'delete') {
      await save(context, `alert rule ${id} deleted`, id, (rules) => rules.filter((r) => r['id'] !== id));
      return redirect(context, `deleted=${encodeURIComponent(id)}`);
    }
    throw new GatehouseError('invalid_request', 'Unknown action');
  },
};

function mayEdit(context: ConsolePageContext): boolean {
  return context.roles.some((role) => (adminRoleSets.configure as readonly string[]).includes(role));
}

function redirect(context: ConsolePageContext, query: string): ConsolePageResult {
  return { kind: 'redirect', location: `${consoleHref(context.tenant, 'alerts')}?${query}#own-rules` };
}

/** A rule from the form, as the tenant document stores it (the schema checks it when it is written). */
function ruleOf(form: URLSearchParams, id: string): Rule {
  const url = form.get('webhookUrl')?.trim() ?? '';
  const secret = form.get('webhookSecret')?.trim() ?? '';
  if (url !== '' && !envName.test(secret)) {
    // Never echoed: a person may have typed the secret itself.
    throw new GatehouseError(
      'invalid_request',
      'Webhook secret: give the name of the environment variable that holds it (letters, digits and _), not the secret itself',
    );
  }
  return {
    id,
    metric: form.get('metric') ?? '',
    threshold: Number(form.get('threshold') ?? ''),
    windowSeconds: Number(form.get('windowSeconds') ?? ''),
    enabled: form.get('enabled') === 'on',
    ...(url === '' ? {} : { webhook: { url, secret: `\${env:${secret}}` } }),
  };
}

/** Changes the stored rules; a refusal names the rule's field (`alertRules[1].threshold: ...`) and changes nothing. */
async function save(
  context: ConsolePageContext,
  summary: string,
  id: string,
  change: (rules: readonly Rule[]) => Rule[],
): Promise<void> {
  if (id === '') throw new GatehouseError('invalid_request', 'Rule id: required');
  const secretName = context.form.get('webhookSecret')?.trim() ?? '';
  try {
    await changeTenantDocument(context, summary, (document) => {
      const rules = rulesOf(document);
      const current = rules.find((r) => r['id'] === id);
      if (context.form.get('action') !== 'save' && current === undefined) {
        throw new GatehouseError('not_found', `No alert rule ${id}`);
      }
      const reload = `${consoleHref(context.tenant, 'alerts')}?edit=${encodeURIComponent(id)}#rule-form`;
      checkFormVersion(
        context,
        `Alert rule ${id}`,
        current,
        current === undefined ? consoleHref(context.tenant, 'alerts') : reload,
      );
      return { ...document, alertRules: change(rules) };
    });
  } catch (error) {
    // A variable the tenant may not read is refused by name; the name field may hold a secret typed by mistake.
    if (isGatehouseError(error) && secretName !== '' && error.message.includes(secretName)) {
      throw new GatehouseError(
        'invalid_request',
        "Webhook secret: that variable is not one this tenant may use; its names start with the tenant's prefix (GATEHOUSE_TENANT_<TENANT>_...) or are listed by the operator (tenantEnv)",
      );
    }
    throw error;
  }
}

function rulesOf(document: Record<string, unknown> | undefined): Rule[] {
  const rules = document?.['alertRules'];
  return Array.isArray(rules) ? (rules as Rule[]) : [];
}

async function render(context: ConsolePageContext): Promise<ConsolePageResult> {
  const alerts = context.deps.alerts;
  if (alerts === undefined) {
    return { kind: 'page', title: 'Alerts', body: '<p class="empty">Alerts are not available on this gateway.</p>' };
  }
  const recent = await alerts.recent(context.tenant, 100);
  const deliveries =
    recent.length === 0
      ? `<p class="empty">No alerts raised yet. An alert appears here when one of the rules below is crossed (the operator's within one ${alerts.windowSeconds}-second window, or at once for a connection that needs its user to connect again).</p>`
      : `<div class="scroll"><table class="stack-on-phone" id="alert-deliveries"><thead><tr><th>Raised</th><th>Rule</th><th>About</th><th>What happened</th><th class="num">Seen / threshold</th><th>Outcome</th></tr></thead><tbody>${recent
          .map(
            (d) =>
              `<tr><td data-label="Raised">${new Date(d.raisedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC</td><td data-label="Rule"><code>${escapeHtml(d.rule)}</code></td><td data-label="About">${shown(d.about)}</td><td data-label="What happened">${shown(d.summary)}</td><td data-label="Seen / threshold" class="num">${d.observed} / ${d.threshold}</td><td data-label="Outcome"><span class="badge badge-${d.outcome === 'delivered' || d.outcome === 'logged' ? 'ok' : d.outcome === 'queued' ? 'pending' : 'bad'}">${escapeHtml(d.outcome)}</span></td></tr>`,
          )
          .join('')}</tbody></table></div>`;
  const operatorRules = alerts.rules
    .map(
      (r) =>
        `<tr><td data-label="Rule"><code>${escapeHtml(r.rule)}</code></td><td data-label="Raised when">${escapeHtml(r.description)}</td><td data-label="Threshold" class="num">${r.threshold}</td></tr>`,
    )
    .join('');
  const where =
    alerts.webhookOrigin === null
      ? 'They are written to the log only.'
      : `They are sent, signed, to the operator's webhook at <code>${escapeHtml(alerts.webhookOrigin)}</code> and written to the log.`;
  return {
    kind: 'page',
    title: 'Alerts',
    ...(noticeOf(context.query) ?? {}),
    body: `<h2>Recent alerts</h2>${deliveries}<h2 id="own-rules">This tenant's rules</h2>${await ownRules(context)}<h2>Operator rules</h2><p>Set by the gateway's operator in the config file (<code>alerts:</code>) for every tenant; read-only here. ${where} Each counts within a ${alerts.windowSeconds}-second window; the same alert is raised at most once every ${alerts.dedupSeconds} seconds.</p><div class="scroll"><table class="stack-on-phone"><thead><tr><th>Rule</th><th>Raised when</th><th class="num">Threshold</th></tr></thead><tbody>${operatorRules}</tbody></table></div>`,
  };
}

function noticeOf(query: URLSearchParams): { notice: { kind: 'ok'; text: string } } | undefined {
  for (const [key, done] of [
    ['added', 'added'],
    ['saved', 'saved'],
    ['enabled', 'enabled'],
    ['disabled', 'disabled'],
    ['deleted', 'deleted'],
  ] as const) {
    const id = query.get(key);
    if (id !== null) return { notice: { kind: 'ok', text: `Alert rule ${id} ${done}.` } };
  }
  return undefined;
}

/** The tenant's own rules with their actions, and the form to add or edit one (owners and admins). */
async function ownRules(context: ConsolePageContext): Promise<string> {
  const document = await readTenantDocument(context);
  if (document === undefined) {
    return '<p>This tenant is not stored (a secret of it is written as a value in the config, or it is the built-in demo tenant), so the config alone configures it: its own rules are its <code>alertRules</code> there.</p>';
  }
  const rules = rulesOf(document);
  const editable = mayEdit(context);
  const action = consoleHref(context.tenant, 'alerts');
  const post = (fields: Record<string, string>, label: string, css: string, confirm?: string) =>
    postButton(action, context.csrfToken, fields, label, { css, ...(confirm === undefined ? {} : { confirm }) });
  const list =
    rules.length === 0
      ? emptyState(
          editable
            ? 'No rules of your own yet. Add one below to be told, at a webhook of yours, when calls, errors, denials or failed refreshes reach a number you choose.'
            : 'No rules of its own yet: an owner or admin adds them here.',
        )
      : table(
          ['Rule', 'Counts', 'Raised at', 'Webhook', 'State', ...(editable ? [''] : [])],
          rules.map((rule) => {
            const id = String(rule['id']);
            const enabled = rule['enabled'] !== false;
            const hidden = `<span class="visually-hidden"> ${escapeHtml(id)}</span>`;
            return [
              `<code>${shown(id)}</code>`,
              escapeHtml(metricLabels[rule['metric'] as keyof typeof metricLabels] ?? String(rule['metric'])),
              `${escapeHtml(String(rule['threshold']))} within ${escapeHtml(String(rule['windowSeconds']))} s`,
              webhookOf(rule),
              badge(enabled ? 'enabled' : 'disabled'),
              ...(editable
                ? [
                    `<div class="actions"><a class="button-link" href="${escapeHtml(`${action}?edit=${encodeURIComponent(id)}#rule-form`)}">Edit${hidden}</a>${post({ action: enabled ? 'disable' : 'enable', id, version: versionOf(rule) }, `${enabled ? 'Disable' : 'Enable'}${hidden}`, 'secondary')}${post({ action: 'delete', id, version: versionOf(rule) }, `Delete${hidden}`, 'danger', `Delete the alert rule ${id}?`)}</div>`,
                  ]
                : []),
            ];
          }),
        );
  return editable ? `${list}${ruleForm(context, rules)}` : list;
}

/** Where a rule's alerts go: the webhook's origin only (a URL may carry a token in its path or query). */
function webhookOf(rule: Rule): string {
  const webhook = rule['webhook'] as { url?: unknown } | undefined;
  if (typeof webhook?.url !== 'string') return '<small>log only</small>';
  try {
    return `<code>${escapeHtml(new URL(webhook.url).origin)}</code>`;
  } catch {
    return `<code>${shown(webhook.url.replace(/[?#].*$/, ''))}</code>`;
  }
}

/** The add/edit form: empty, the rule named by `?edit=`, or what was just sent when it was refused. */
function ruleForm(context: ConsolePageContext, rules: readonly Rule[]): string {
  const { form, query } = context;
  const sent = form.get('action') === 'save';
  const edited = rules.find((r) => r['id'] === query.get('edit'));
  const webhook = (edited?.['webhook'] ?? {}) as { url?: string; secret?: string };
  const value = (name: string, stored: unknown) =>
    escapeHtml(sent ? (form.get(name) ?? '') : stored === undefined ? '' : String(stored));
  // A refused secret field is not shown again: it may hold the secret itself, typed by mistake.
  const sentSecret = form.get('webhookSecret')?.trim() ?? '';
  const metric = sent ? form.get('metric') : ((edited?.['metric'] as string | undefined) ?? 'policy_denials');
  const enabled = sent ? form.get('enabled') === 'on' : edited?.['enabled'] !== false;
  const secretName = envReference.exec(webhook.secret ?? '')?.[1];
  const title = edited === undefined ? 'Add a rule' : `Edit rule ${escapeHtml(String(edited['id']))}`;
  return `<h3 id="rule-form">${title}</h3><form method="post" action="${escapeHtml(consoleHref(context.tenant, 'alerts'))}" class="stack">${csrfField(context.csrfToken)}${sent ? `<input type="hidden" name="version" value="${escapeHtml(form.get('version') ?? '')}">` : versionField(edited)}<input type="hidden" name="action" value="save">
<label>Rule id <input name="id" required maxlength="40" autocomplete="off" value="${value('id', edited?.['id'])}"${edited === undefined ? '' : ' readonly'}><small>Lower-case letters, digits and dashes. To change a rule, use its Edit button.</small></label>
<label>Counts <select name="metric">${tenantAlertMetrics.map((m) => `<option value="${m}"${m === metric ? ' selected' : ''}>${escapeHtml(metricLabels[m])}</option>`).join('')}</select></label>
<label>Threshold <input name="threshold" type="number" min="1" max="1000000" step="1" required value="${value('threshold', edited?.['threshold'] ?? 20)}"><small>The count that raises the alert, once per window.</small></label>
<label>Window (seconds) <input name="windowSeconds" type="number" min="10" max="86400" step="1" required value="${value('windowSeconds', edited?.['windowSeconds'] ?? 300)}"></label>
<label class="wide">Webhook URL (optional) <input name="webhookUrl" type="url" autocomplete="off" placeholder="https://hooks.example.com/gatehouse" value="${value('webhookUrl', webhook.url)}"><small>Without one, alerts are only logged and listed above. Private and loopback addresses are refused unless the operator allows the host.</small></label>
<label class="wide">Webhook secret: environment variable <input name="webhookSecret" autocomplete="off" placeholder="GATEHOUSE_TENANT_${escapeHtml(context.tenant.toUpperCase().replaceAll('-', '_'))}_ALERTS" value="${sent ? (envName.test(sentSecret) ? escapeHtml(sentSecret) : '') : escapeHtml(secretName ?? '')}"><small>The name of a variable set on every gateway process that holds the signing key (x-gatehouse-signature), never the key itself.</small></label>
<label class="check"><input type="checkbox" name="enabled"${enabled ? ' checked' : ''}> Enabled</label>
<button type="submit">Save rule</button></form>`;
}
