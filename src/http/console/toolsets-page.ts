import { escapeHtml, GatehouseError, httpStatusOf } from '../../core/index.ts';
import type { TenantInspection } from '../../gateway/index.ts';
import { matchToolGlob } from '../../policy/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import { csrfField } from './console-html.ts';
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
  itemsOf,
  notStoredNotice,
  readTenantDocument,
  runningTenantOf,
  versionField,
  versionOf,
} from './tenant-document.ts';

const toolsetId = /^[A-Za-z0-9_-]+$/;

/**
 * Toolsets (issue 14): each toolset's tools, access mode, approvals, limits and budget, the token size of its live
 * `tools/list`, and how to connect Claude, ChatGPT, Cursor and VS Code to it; a form to make or replace one by
 * picking tools per service (their read/write class and scopes shown).
 */
export const toolsetsPage: ConsolePage = {
  section: 'toolsets',
  path: '/toolsets',
  roles: adminRoleSets.configure,
  get: async (context) => render(context),
  post: async (context) => {
    const { form } = context;
    const action = form.get('action');
    if (action === 'save') {
      try {
        return await saveToolset(context);
      } catch (error) {
        // Shown with the form as it was sent, so one wrong field does not cost the others; a stale form gets the
        // console's own page (what was sent, a link to the current version).
        if (!isShownError(error) || error instanceof StaleFormError) throw error;
        const page = await render(context, formValuesOfSent(form));
        return { ...page, status: httpStatusOf[error.code], notice: { kind: 'error', text: error.message } };
      }
    }
    if (action === 'delete') {
      const id = form.get('id') ?? '';
      await changeTenantDocument(context, `toolset ${id} deleted`, (document) => {
        const toolsets = itemsOf(document, 'toolsets');
        const current = toolsets.find((t) => t['id'] === id);
        if (current === undefined) throw new GatehouseError('not_found', `No toolset ${id}`);
        checkFormVersion(context, `Toolset ${id}`, current, `${consoleHref(context.tenant, 'toolsets')}#toolset-${id}`);
        return { ...document, toolsets: toolsets.filter((t) => t['id'] !== id) };
      });
      return {
        kind: 'redirect',
        location: `${consoleHref(context.tenant, 'toolsets')}?deleted=${encodeURIComponent(id)}`,
      };
    }
    throw new GatehouseError('invalid_request', 'Unknown action');
  },
};

async function saveToolset(context: ConsolePageContext): Promise<ConsolePageResult> {
  const { form } = context;
  const id = form.get('id')?.trim() ?? '';
  if (!toolsetId.test(id)) {
    throw new GatehouseError(
      'invalid_request',
      'Toolset id: letters, digits, _ and - only (it is part of the MCP URL)',
    );
  }
  const tools = form.getAll('tools');
  if (tools.length === 0) throw new GatehouseError('invalid_request', 'Tools: pick at least one tool or service');
  const toolset: Record<string, unknown> = {
    id,
    tools,
    access: oneOf('Access', form.get('access'), ['read', 'write']),
    approval: approvalOf(form),
    ...numberField('perMinute', form.get('perMinute'), (n) => ({ rateLimit: { perMinute: n } })),
    ...numberField('budget', form.get('budget'), (n) => ({ results: { budget: n } })),
  };
  const services = context.deps.gateway.live?.inspectTenant(context.tenant)?.services;
  let replaced = false;
  await changeTenantDocument(context, `toolset ${id} saved`, (document) => {
    const toolsets = itemsOf(document, 'toolsets');
    const index = toolsets.findIndex((t) => t['id'] === id);
    checkFormVersion(context, `Toolset ${id}`, toolsets[index], editHref(context.tenant, id));
    replaced = index !== -1;
    // A replaced toolset keeps the settings this form does not show (its inbound methods, policy, caching).
    const saved = index === -1 ? toolset : mergeShown(toolsets[index] as Record<string, unknown>, toolset);
    checkApprovalTools(saved, services);
    const next = index === -1 ? [...toolsets, saved] : toolsets.map((t, i) => (i === index ? saved : t));
    return { ...document, toolsets: next };
  });
  const done = replaced ? 'saved' : 'created';
  return {
    kind: 'redirect',
    location: `${consoleHref(context.tenant, 'toolsets')}?${done}=${encodeURIComponent(id)}#toolset-${id}`,
  };
}

/**
 * The form's approval: `none`, `destructive`, or with `tools` the names (or, kept from the stored list, globs)
 * ticked "needs approval", in the order of the form.
 */
function approvalOf(form: URLSearchParams): string | string[] {
  const mode = oneOf('Approval', form.get('approval'), ['destructive', 'none', 'tools']);
  if (mode !== 'tools') return mode;
  const names = [...new Set(form.getAll('approvalTools').map((name) => name.trim()))].filter((name) => name !== '');
  if (names.length === 0) {
    throw new GatehouseError(
      'invalid_request',
      'Approval: tick "needs approval" on at least one tool of the toolset, or choose another approval',
    );
  }
  return names;
}

/**
 * Refuses an approval list entry that names no tool of the toolset (its `tools` minus `exclude`, by the names it
 * exposes): with a list, only the listed tools wait for a person, so a typo would let a destructive call run.
 */
function checkApprovalTools(
  toolset: Record<string, unknown>,
  services: TenantInspection['services'] | undefined,
): void {
  const approval = toolset['approval'];
  if (!Array.isArray(approval)) return;
  if (services === undefined) {
    throw new GatehouseError('invalid_request', 'Approval: the tenant is not served yet; try again in a few seconds');
  }
  const strings = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  const included = matchToolGlob(strings(toolset['tools']));
  const excluded = matchToolGlob(strings(toolset['exclude']));
  const unprefixed = new Set(strings(toolset['unprefixed']));
  const names = services.flatMap((service) =>
    service.tools
      .map((tool) => (unprefixed.has(service.id) ? [tool.name, tool.name.slice(service.id.length + 1)] : [tool.name]))
      .filter((forms) => forms.some(included) && !forms.some(excluded))
      // The name the toolset exposes (an unprefixed service's short one): what a call, and so the list, matches.
      .map((forms) => forms.at(-1) as string),
  );
  for (const entry of approval.map(String)) {
    if (names.some(matchToolGlob([entry]))) continue;
    throw new GatehouseError(
      'invalid_request',
      `Approval: ${entry} is not a tool of toolset ${String(toolset['id'])}; pick it under Tools too, or untick "needs approval"`,
    );
  }
}

/** The toolsets page with the form filled with toolset `id` to edit. */
function editHref(tenant: string, id: string): string {
  return `${consoleHref(tenant, 'toolsets')}?edit=${encodeURIComponent(id)}#toolset-form`;
}

function oneOf(label: string, value: string | null, allowed: readonly string[]): string {
  if (value !== null && allowed.includes(value)) return value;
  throw new GatehouseError('invalid_request', `${label}: one of ${allowed.join(', ')}`);
}

function numberField(
  label: string,
  value: string | null,
  shape: (n: number) => Record<string, unknown>,
): Record<string, unknown> {
  if (value === null || value.trim() === '') return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new GatehouseError('invalid_request', `${label}: a whole number above 0`);
  return shape(n);
}

/** The toolset with the fields the form shows replaced, and those it leaves empty removed. */
function mergeShown(current: Record<string, unknown>, shownFields: Record<string, unknown>): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current, ...shownFields };
  if (shownFields['rateLimit'] === undefined) delete next['rateLimit'];
  if (shownFields['results'] === undefined && current['results'] !== undefined) {
    const { budget: _dropped, ...rest } = current['results'] as Record<string, unknown>;
    if (Object.keys(rest).length === 0) delete next['results'];
    else next['results'] = rest;
  } else if (shownFields['results'] !== undefined) {
    next['results'] = {
      ...((current['results'] as Record<string, unknown>) ?? {}),
      ...(shownFields['results'] as object),
    };
  }
  return next;
}

async function render(context: ConsolePageContext, sent?: ToolsetFormValues): Promise<ConsolePageResult> {
  const document = await readTenantDocument(context);
  const inspection = context.deps.gateway.live?.inspectTenant(context.tenant);
  const summary = await runningTenantOf(context);
  const urlOf = new Map(summary?.toolsets.map((t) => [t.id, t.url]) ?? []);
  const measured = new Map(inspection?.toolsets.map((t) => [t.id, t]) ?? []);
  const toolsets = itemsOf(document, 'toolsets');
  const csrf = csrfField(context.csrfToken);
  const notice = noticeOf(context.query);

  if (document === undefined) {
    return {
      kind: 'page',
      title: 'Toolsets',
      body: notStoredNotice('toolsets'),
    };
  }
  const services = inspection?.services ?? [];
  const list =
    toolsets.length === 0
      ? `<p class="empty">No toolsets yet. ${services.length === 0 ? 'First add a service on the <a href="' + escapeHtml(consoleHref(context.tenant, 'services')) + '">Services</a> page, then come back to pick its tools.' : 'Make one below: pick the tools an agent may use, then connect a client with the instructions shown.'}</p>`
      : toolsets
          .map((toolset) =>
            toolsetPanel(
              toolset,
              measured.get(String(toolset['id'])),
              urlOf.get(String(toolset['id'])),
              csrf,
              editHref(context.tenant, String(toolset['id'])),
            ),
          )
          .join('');
  const edited = toolsets.find((t) => t['id'] === context.query.get('edit'));
  const values = sent ?? formValuesOf(edited);
  return {
    kind: 'page',
    title: 'Toolsets',
    ...(notice ? { notice } : {}),
    body: `${list}${services.length === 0 ? '' : toolsetForm(services, csrf, values)}`,
  };
}

function noticeOf(query: URLSearchParams): { kind: 'ok'; text: string } | undefined {
  for (const [key, text] of [
    ['created', 'created: connect a client with the instructions below'],
    ['saved', 'saved; every gateway process serves it within a few seconds'],
    ['deleted', 'removed'],
  ] as const) {
    const id = query.get(key);
    if (id !== null) return { kind: 'ok', text: `Toolset ${id} ${text}.` };
  }
  return undefined;
}

function toolsetPanel(
  toolset: Record<string, unknown>,
  measured: TenantInspection['toolsets'][number] | undefined,
  url: string | undefined,
  csrf: string,
  edit: string,
): string {
  const id = String(toolset['id']);
  const tools = Array.isArray(toolset['tools']) ? (toolset['tools'] as unknown[]).map(String) : [];
  const rate = (toolset['rateLimit'] as { perMinute?: number } | undefined)?.perMinute;
  const budget = (toolset['results'] as { budget?: number } | undefined)?.budget;
  const approval = Array.isArray(toolset['approval'])
    ? `for ${(toolset['approval'] as unknown[]).join(', ')}`
    : String(toolset['approval'] ?? 'destructive');
  const facts = [
    ['Tools', tools.length === 0 ? 'none' : tools.map((t) => `<code>${shown(t)}</code>`).join(' ')],
    ['Access', escapeHtml(String(toolset['access'] ?? 'read'))],
    ['Approval', shown(approval)],
    ['Rate limit', rate === undefined ? 'none' : `${rate} calls per minute`],
    ['Result budget', `${budget ?? 8000} tokens`],
    [
      'Live tools/list',
      measured === undefined
        ? 'not served yet (applied within a few seconds)'
        : `<strong class="list-tokens">${measured.listTokens}</strong> tokens, ${measured.listed.length} tools: <span class="listed">${measured.listed.map((name) => `<code>${shown(name)}</code>`).join(' ')}</span>`,
    ],
  ]
    .map(([k, v]) => `<tr><th scope="row">${k}</th><td>${v}</td></tr>`)
    .join('');
  return `<section class="panel" id="toolset-${escapeHtml(id)}" aria-labelledby="toolset-title-${escapeHtml(id)}">
<h2 id="toolset-title-${escapeHtml(id)}">${shown(id)}</h2>
<table class="facts">${facts}</table>
${url === undefined ? '' : connectInstructions(id, url)}
<div class="actions"><a class="button-link" href="${escapeHtml(edit)}">Edit<span class="visually-hidden"> ${escapeHtml(id)}</span></a>
<form method="post" class="inline" data-confirm="Remove toolset ${escapeHtml(id)}? Clients connected to it stop working.">${csrf}${versionField(toolset)}<input type="hidden" name="action" value="delete"><input type="hidden" name="id" value="${escapeHtml(id)}"><button type="submit" class="danger">Remove toolset</button></form></div>
</section>`;
}

/** How each common client adds the toolset (docs/connect-clients.md), each with a copy button. */
function connectInstructions(id: string, url: string): string {
  const name = `gatehouse-${id}`;
  const snippets: [string, string, string][] = [
    ['Claude', 'Customize (or Settings) → Connectors → Add custom connector, with this URL; sign in when asked.', url],
    [
      'ChatGPT',
      'Settings → Apps (or Connectors) → Advanced → Developer mode → Create: this URL, authentication OAuth.',
      url,
    ],
    [
      'Cursor',
      'Add to ~/.cursor/mcp.json (or the project’s .cursor/mcp.json):',
      JSON.stringify({ mcpServers: { [name]: { url } } }, null, 2),
    ],
    ['VS Code', 'Add to .vscode/mcp.json:', JSON.stringify({ servers: { [name]: { type: 'http', url } } }, null, 2)],
  ];
  const blocks = snippets
    .map(([client, how, text], i) => {
      const target = `connect-${escapeHtml(id)}-${i}`;
      return `<div class="connect"><h3>${client}</h3><p>${escapeHtml(how)}</p><pre id="${target}">${escapeHtml(text)}</pre><button type="button" class="secondary" data-copy="${target}">Copy</button></div>`;
    })
    .join('');
  return `<details class="connect-clients"><summary>Connect a client</summary><p>The MCP URL: <code>${escapeHtml(url)}</code>. Clients sign in with OAuth as a user of this tenant (see docs/connect-clients.md); scripts use a client key from the Users and keys page.</p>${blocks}</details>`;
}

/**
 * Narrows the tool picker by name, read/write class and OAuth scope, in the page (console.js): inputs without a
 * name, so nothing of it is submitted, and hidden rows keep their checkbox state. Without the script it stays hidden.
 */
function toolFilter(services: TenantInspection['services']): string {
  const scopes = [...new Set(services.flatMap((service) => service.tools.flatMap((t) => t.scopes.flat())))].sort();
  const scopeOptions = scopes.map((scope) => `<option value="${escapeHtml(scope)}">${shown(scope)}</option>`).join('');
  return `<div class="filters tool-filter" data-tool-filter hidden>
<label>Find a tool <input type="search" data-filter-text placeholder="name"></label>
<label>Class <select data-filter-access><option value="">read and write</option><option value="read">read</option><option value="write">write</option></select></label>
${scopes.length === 0 ? '' : `<label>Scope <select data-filter-scope><option value="">any scope</option>${scopeOptions}</select></label>`}
<span class="hint" data-filter-count aria-live="polite"></span></div>`;
}

/** What the toolset form shows: a stored toolset's settings, or what a refused form sent. */
interface ToolsetFormValues {
  readonly id: string;
  /** The version the form was made from (`versionField`); empty for a new toolset. */
  readonly version: string;
  readonly tools: readonly string[];
  readonly access: string;
  /** `destructive`, `none`, or `tools` for a list. */
  readonly approval: string;
  /** The list's names and globs, when `approval` is `tools`. */
  readonly approvalTools: readonly string[];
  readonly perMinute: string;
  readonly budget: string;
}

/** The form's values for toolset `toolset` (undefined: a new one, with the defaults). */
function formValuesOf(toolset: Record<string, unknown> | undefined): ToolsetFormValues {
  const approval = toolset?.['approval'] ?? 'destructive';
  const rate = (toolset?.['rateLimit'] as { perMinute?: number } | undefined)?.perMinute;
  const budget = (toolset?.['results'] as { budget?: number } | undefined)?.budget;
  return {
    id: toolset === undefined ? '' : String(toolset['id']),
    version: versionOf(toolset),
    tools: Array.isArray(toolset?.['tools']) ? (toolset['tools'] as unknown[]).map(String) : [],
    access: String(toolset?.['access'] ?? 'read'),
    approval: Array.isArray(approval) ? 'tools' : String(approval),
    approvalTools: Array.isArray(approval) ? approval.map(String) : [],
    perMinute: rate === undefined ? '' : String(rate),
    budget: budget === undefined ? '' : String(budget),
  };
}

/** The form's values as a refused form sent them, to correct. */
function formValuesOfSent(form: URLSearchParams): ToolsetFormValues {
  return {
    id: form.get('id') ?? '',
    version: form.get('version') ?? '',
    tools: form.getAll('tools'),
    access: form.get('access') ?? 'read',
    approval: form.get('approval') ?? 'destructive',
    approvalTools: form.getAll('approvalTools'),
    perMinute: form.get('perMinute') ?? '',
    budget: form.get('budget') ?? '',
  };
}

/**
 * The form to make a toolset, or to edit one (filled with its settings, id fixed). It carries the version it was
 * made from, so a save over someone else's change since is refused (`checkFormVersion`). With Approval "these
 * tools", each tool of the picker has a "needs approval" box (shown only then, by the stylesheet); globs of a
 * stored list that name no single tool are kept as ticked patterns.
 */
function toolsetForm(services: TenantInspection['services'], csrf: string, values: ToolsetFormValues): string {
  const editing = values.version !== '';
  const picked = new Set(values.tools);
  const checked = (name: string) => (picked.has(name) ? ' checked' : '');
  const needsApproval = new Set(values.approvalTools);
  const approvalBox = (name: string) =>
    `<label class="check approval-pick"><input type="checkbox" name="approvalTools" value="${escapeHtml(name)}"${needsApproval.has(name) ? ' checked' : ''}> needs approval<span class="visually-hidden"> (${escapeHtml(name)})</span></label>`;
  const selected = (value: string, current: string) => (current === value ? ' selected' : '');
  const toolNames = new Set(services.flatMap((service) => service.tools.map((t) => t.name)));
  const patterns = values.approvalTools.filter((name) => !toolNames.has(name));
  const groups = services
    .map((service) => {
      const tools = service.tools
        .map(
          (t) =>
            `<li data-scopes="${escapeHtml([...new Set(t.scopes.flat())].join(' '))}"><label class="check"><input type="checkbox" name="tools" value="${escapeHtml(t.name)}" data-access="${t.access}"${checked(t.name)}> <code>${shown(t.name)}</code> <span class="badge badge-${t.access === 'read' ? 'ok' : 'error'}">${t.access}</span>${t.scopes.length === 0 ? '' : ` <small>${shown(t.scopes.map((s) => s.join(' + ')).join(' or '))}</small>`}</label>${approvalBox(t.name)}</li>`,
        )
        .join('');
      return `<fieldset><legend>${shown(service.id)}</legend><label class="check"><input type="checkbox" name="tools" value="${escapeHtml(service.id)}_*"${checked(`${service.id}_*`)}> every tool of ${shown(service.id)} (also tools added to it later)</label><ul class="tools">${tools}</ul></fieldset>`;
    })
    .join('');
  const patternBoxes =
    patterns.length === 0
      ? ''
      : `<fieldset class="approval-pick approval-patterns"><legend>Also need approval (patterns)</legend>${patterns
          .map(
            (glob) =>
              `<label class="check"><input type="checkbox" name="approvalTools" value="${escapeHtml(glob)}"${needsApproval.has(glob) ? ' checked' : ''}> <code>${shown(glob)}</code></label>`,
          )
          .join('')}</fieldset>`;
  const heading = editing ? `Edit toolset ${shown(values.id)}` : 'Make a toolset';
  const intro = editing
    ? 'Change the tools and settings, then save. If someone else saves this toolset before you, your save is refused and nothing is overwritten.'
    : 'An agent sees only the tools you pick. With access <em>read</em> it gets the read tools among them; approvals make a person confirm destructive calls first. To change an existing toolset, use its Edit button.';
  return `<section class="panel" aria-labelledby="toolset-form"><h2 id="toolset-form">${heading}</h2>
<p>${intro}</p>
<form method="post" class="stack toolset-form">${csrf}<input type="hidden" name="version" value="${escapeHtml(values.version)}"><input type="hidden" name="action" value="save">
<label>Toolset id <input name="id" required pattern="[A-Za-z0-9_\\-]+" placeholder="support" value="${escapeHtml(values.id)}"${editing ? ' readonly' : ''}></label>
<label>Access <select name="access"><option value="read"${selected('read', values.access)}>read: safe tools only</option><option value="write"${selected('write', values.access)}>write: reads and writes</option></select></label>
<label>Approval <select name="approval"><option value="destructive"${selected('destructive', values.approval)}>destructive calls need a person</option><option value="none"${selected('none', values.approval)}>none</option><option value="tools"${selected('tools', values.approval)}>these tools need a person: tick “needs approval”</option></select></label>
<label>Rate limit per minute <input name="perMinute" inputmode="numeric" placeholder="none" value="${escapeHtml(values.perMinute)}"></label>
<label>Result budget (tokens) <input name="budget" inputmode="numeric" placeholder="8000" value="${escapeHtml(values.budget)}"></label>
${patternBoxes}${toolFilter(services)}<div class="pickers">${groups}</div>
<div class="actions"><button type="submit">Save toolset</button>${editing ? ` <a class="button-link" href="?">Cancel</a>` : ''}</div></form></section>`;
}
