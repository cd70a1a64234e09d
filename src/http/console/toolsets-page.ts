import { escapeHtml, GatehouseError } from '../../core/index.ts';
import type { TenantInspection } from '../../gateway/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import { csrfField } from './console-html.ts';
import type { ConsolePage, ConsolePageContext, ConsolePageResult } from './console-page.ts';
import { consoleHref, shown } from './render-console-page.ts';
import {
  changeTenantDocument,
  checkFormVersion,
  itemsOf,
  readTenantDocument,
  runningTenantOf,
  versionField,
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
        approval: oneOf('Approval', form.get('approval'), ['none', 'destructive']),
        ...numberField('perMinute', form.get('perMinute'), (n) => ({ rateLimit: { perMinute: n } })),
        ...numberField('budget', form.get('budget'), (n) => ({ results: { budget: n } })),
      };
      let replaced = false;
      await changeTenantDocument(context, `toolset ${id} saved`, (document) => {
        const toolsets = itemsOf(document, 'toolsets');
        const index = toolsets.findIndex((t) => t['id'] === id);
        checkFormVersion(context, `Toolset ${id}`, toolsets[index], editHref(context.tenant, id));
        replaced = index !== -1;
        // A replaced toolset keeps the settings this form does not show (its inbound methods, policy, caching).
        const next =
          index === -1 ? [...toolsets, toolset] : toolsets.map((t, i) => (i === index ? mergeShown(t, toolset) : t));
        return { ...document, toolsets: next };
      });
      const done = replaced ? 'saved' : 'created';
      return {
        kind: 'redirect',
        location: `${consoleHref(context.tenant, 'toolsets')}?${done}=${encodeURIComponent(id)}#toolset-${id}`,
      };
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

async function render(context: ConsolePageContext): Promise<ConsolePageResult> {
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
      body: `<p class="empty">This tenant is configured by the config file alone, so its toolsets are changed there (<code>toolsets:</code>, see docs/configuration.md). Start the gateway with <code>gatehouse serve</code> to store it and change it here.</p>`,
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
  return {
    kind: 'page',
    title: 'Toolsets',
    ...(notice ? { notice } : {}),
    body: `${list}${services.length === 0 ? '' : toolsetForm(services, csrf, edited)}`,
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

/**
 * The form to make a toolset, or to edit `edited` (filled with its settings, id fixed). It carries the version it
 * was made from, so a save over someone else's change since is refused (`checkFormVersion`).
 */
function toolsetForm(
  services: TenantInspection['services'],
  csrf: string,
  edited: Record<string, unknown> | undefined,
): string {
  const picked = new Set(Array.isArray(edited?.['tools']) ? (edited['tools'] as unknown[]).map(String) : []);
  const checked = (name: string) => (picked.has(name) ? ' checked' : '');
  const selected = (field: string, value: string, byDefault: string) =>
    String(edited?.[field] ?? byDefault) === value ? ' selected' : '';
  const rate = (edited?.['rateLimit'] as { perMinute?: number } | undefined)?.perMinute;
  const budget = (edited?.['results'] as { budget?: number } | undefined)?.budget;
  const groups = services
    .map((service) => {
      const tools = service.tools
        .map(
          (t) =>
            `<li data-scopes="${escapeHtml([...new Set(t.scopes.flat())].join(' '))}"><label class="check"><input type="checkbox" name="tools" value="${escapeHtml(t.name)}" data-access="${t.access}"${checked(t.name)}> <code>${shown(t.name)}</code> <span class="badge badge-${t.access === 'read' ? 'ok' : 'error'}">${t.access}</span>${t.scopes.length === 0 ? '' : ` <small>${shown(t.scopes.map((s) => s.join(' + ')).join(' or '))}</small>`}</label></li>`,
        )
        .join('');
      return `<fieldset><legend>${shown(service.id)}</legend><label class="check"><input type="checkbox" name="tools" value="${escapeHtml(service.id)}_*"${checked(`${service.id}_*`)}> every tool of ${shown(service.id)} (also tools added to it later)</label><ul class="tools">${tools}</ul></fieldset>`;
    })
    .join('');
  const id = edited === undefined ? '' : String(edited['id']);
  const heading = edited === undefined ? 'Make a toolset' : `Edit toolset ${shown(id)}`;
  const intro =
    edited === undefined
      ? 'An agent sees only the tools you pick. With access <em>read</em> it gets the read tools among them; approvals make a person confirm destructive calls first. To change an existing toolset, use its Edit button.'
      : 'Change the tools and settings, then save. If someone else saves this toolset before you, your save is refused and nothing is overwritten.';
  return `<section class="panel" aria-labelledby="toolset-form"><h2 id="toolset-form">${heading}</h2>
<p>${intro}</p>
<form method="post" class="stack toolset-form">${csrf}${versionField(edited)}<input type="hidden" name="action" value="save">
<label>Toolset id <input name="id" required pattern="[A-Za-z0-9_\\-]+" placeholder="support" value="${escapeHtml(id)}"${edited === undefined ? '' : ' readonly'}></label>
<label>Access <select name="access"><option value="read"${selected('access', 'read', 'read')}>read: safe tools only</option><option value="write"${selected('access', 'write', 'read')}>write: reads and writes</option></select></label>
<label>Approval <select name="approval"><option value="destructive"${selected('approval', 'destructive', 'destructive')}>destructive calls need a person</option><option value="none"${selected('approval', 'none', 'destructive')}>none</option></select></label>
<label>Rate limit per minute <input name="perMinute" inputmode="numeric" placeholder="none" value="${rate ?? ''}"></label>
<label>Result budget (tokens) <input name="budget" inputmode="numeric" placeholder="8000" value="${budget ?? ''}"></label>
${toolFilter(services)}<div class="pickers">${groups}</div>
<div class="actions"><button type="submit">Save toolset</button>${edited === undefined ? '' : ` <a class="button-link" href="?">Cancel</a>`}</div></form></section>`;
}
