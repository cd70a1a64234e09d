import { escapeHtml, GatehouseError, httpStatusOf, tenantEnvPatterns } from '../../core/index.ts';
import {
  type DescriptionPreview,
  describeProviders,
  descriptionFieldOf,
  type ProviderSummary,
  uploadFormats,
} from '../../gateway/index.ts';
import { adminRoleSets } from '../create-admin-routes.ts';
import { csrfField } from './console-html.ts';
import { type ConsolePage, type ConsolePageContext, type ConsolePageResult, isShownError } from './console-page.ts';
import { consoleHref, shown } from './render-console-page.ts';
import {
  changeTenantDocument,
  checkFormVersion,
  itemsOf,
  notStoredNotice,
  readTenantDocument,
  versionField,
} from './tenant-document.ts';

/** A pasted or uploaded description travels in the form: up to 25 MiB of text, URL-encoded. */
const descriptionFormLimit = 80 * 1024 * 1024;
const serviceId = /^[A-Za-z0-9_-]+$/;
const envReference = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;
const sourceFields = ['openapi', 'swagger', 'googleDiscovery', 'graphql', 'wsdl', 'mcp'] as const;

let providers: readonly ProviderSummary[] | undefined;
/** The built-in provider catalogue, read once (it ships with the gateway and does not change while it runs). */
function catalogue(): readonly ProviderSummary[] {
  providers ??= describeProviders();
  return providers;
}

/**
 * Services (issue 14): what the tenant calls, and adding one from the provider catalogue, an uploaded or pasted
 * description, or a URL, with the tools it becomes (token sizes, read/write class, import warnings) previewed
 * before anything is saved.
 */
export const servicesPage: ConsolePage = {
  section: 'services',
  path: '/services',
  roles: adminRoleSets.configure,
  bodyLimit: descriptionFormLimit,
  get: async (context) => render(context),
  post: async (context) => {
    try {
      return await post(context);
    } catch (error) {
      // Shown with the form as it was sent: a pasted description is not lost to a typo in the id.
      if (!isShownError(error)) throw error;
      const page = await render(context, undefined, { kind: 'error', text: error.message });
      return { ...page, status: httpStatusOf[error.code] } as ConsolePageResult;
    }
  },
};

async function post(context: ConsolePageContext): Promise<ConsolePageResult> {
  const { form } = context;
  const action = form.get('action');
  if (action === 'preview') return render(context, await previewOf(context));
  if (action === 'import') {
    const id = idOf(form.get('id'));
    const { text, source } = await descriptionOf(context);
    const preview = previewText(context, text, id);
    const reference = await descriptionsOf(context).save(context.tenant, text, source, context.actor);
    const service: Record<string, unknown> = {
      id,
      [descriptionFieldOf[preview.format]]: reference,
      ...baseUrlOf(form.get('baseUrl')),
      ...authOf(form.get('token')),
    };
    await addService(context, service);
    return added(context, id);
  }
  if (action === 'provider') {
    const provider = form.get('provider') ?? '';
    if (!catalogue().some((p) => p.provider.id === provider)) {
      throw new GatehouseError('invalid_request', 'provider: pick a provider of the catalogue');
    }
    const id = form.get('id')?.trim() || provider;
    const service: Record<string, unknown> = { provider, id: idOf(id) };
    for (const field of ['clientId', 'clientSecret', 'apiKey', 'token'] as const) {
      const value = form.get(field)?.trim();
      if (value) service[field] = envReferenceOf(field, value);
    }
    await addService(context, service);
    return added(context, id);
  }
  if (action === 'delete') {
    const id = form.get('id') ?? '';
    await changeTenantDocument(context, `service ${id} deleted`, (document) => {
      const services = itemsOf(document, 'services');
      const current = services.find((s) => s['id'] === id);
      if (current === undefined) throw new GatehouseError('not_found', `No service ${id}`);
      checkFormVersion(context, `Service ${id}`, current, consoleHref(context.tenant, 'services'));
      return { ...document, services: services.filter((s) => s['id'] !== id) };
    });
    return {
      kind: 'redirect',
      location: `${consoleHref(context.tenant, 'services')}?deleted=${encodeURIComponent(id)}`,
    };
  }
  throw new GatehouseError('invalid_request', 'Unknown action');
}

function descriptionsOf(context: ConsolePageContext) {
  const descriptions = context.deps.gateway.descriptions;
  if (descriptions === undefined)
    throw new GatehouseError('invalid_request', 'This gateway cannot import descriptions');
  return descriptions;
}

function idOf(value: string | null): string {
  const id = value?.trim() ?? '';
  if (!serviceId.test(id)) {
    throw new GatehouseError('invalid_request', 'Service id: letters, digits, _ and - only (tool names start with it)');
  }
  return id;
}

function envReferenceOf(field: string, value: string): string {
  // A bare name is taken as the environment variable holding the secret; a value is never stored.
  const reference = /^[A-Za-z_][A-Za-z0-9_]*$/.test(value) ? `\${env:${value}}` : value;
  if (!envReference.test(reference)) {
    throw new GatehouseError(
      'invalid_request',
      `${field}: give the name of the environment variable that holds it (for example SLACK_CLIENT_SECRET); a secret's value is never stored`,
    );
  }
  return reference;
}

function baseUrlOf(value: string | null): Record<string, string> {
  const url = value?.trim();
  return url ? { baseUrl: url } : {};
}

function authOf(variable: string | null): Record<string, unknown> {
  const name = variable?.trim();
  return name ? { auth: { type: 'bearer', token: envReferenceOf('Bearer token', name) } } : {};
}

async function descriptionOf(context: ConsolePageContext): Promise<{ text: string; source: string }> {
  const text = context.form.get('text') ?? '';
  const url = context.form.get('url')?.trim() ?? '';
  if (text.trim() !== '' && url !== '') {
    throw new GatehouseError('invalid_request', 'Description: upload or paste it, or give its URL, not both');
  }
  if (text.trim() !== '') return { text, source: 'upload' };
  if (url !== '') return { text: await descriptionsOf(context).fetchText(url, 'URL'), source: url };
  throw new GatehouseError('invalid_request', 'Description: choose a file, paste the description, or give its URL');
}

function previewText(context: ConsolePageContext, text: string, service: string): DescriptionPreview {
  const format = context.form.get('format') ?? '';
  if (format !== '' && !(uploadFormats as string[]).includes(format)) {
    throw new GatehouseError('invalid_request', `Format: one of ${uploadFormats.join(', ')}`);
  }
  return descriptionsOf(context).preview({
    text,
    service,
    ...(format === '' ? {} : { format: format as (typeof uploadFormats)[number] }),
  }).preview;
}

async function previewOf(context: ConsolePageContext) {
  const id = idOf(context.form.get('id'));
  const { text } = await descriptionOf(context);
  return { id, text, preview: previewText(context, text, id) };
}

async function addService(context: ConsolePageContext, service: Record<string, unknown>): Promise<void> {
  const id = String(service['id']);
  await changeTenantDocument(context, `service ${id} created`, (document) => {
    const services = itemsOf(document, 'services');
    if (services.some((s) => s['id'] === id)) {
      throw new GatehouseError('resource_conflict', `Service id ${id} is taken: choose another`);
    }
    return { ...document, services: [...services, service] };
  });
}

function added(context: ConsolePageContext, id: string): ConsolePageResult {
  return { kind: 'redirect', location: `${consoleHref(context.tenant, 'services')}?added=${encodeURIComponent(id)}` };
}

function sourceOf(service: Record<string, unknown>): string {
  if (typeof service['provider'] === 'string') return `catalogue: ${service['provider']}`;
  for (const field of sourceFields) {
    const value = service[field];
    if (typeof value !== 'string') continue;
    if (value.startsWith('stored:')) return `${field}, uploaded (${value.slice(7, 19)})`;
    if (field === 'mcp') return `remote MCP server ${value}`;
    return `${field}: ${value.split('/').at(-1) ?? value}`;
  }
  return '';
}

async function render(
  context: ConsolePageContext,
  previewed?: { id: string; text: string; preview: DescriptionPreview },
  failed?: { readonly kind: 'error'; readonly text: string },
): Promise<ConsolePageResult> {
  const document = await readTenantDocument(context);
  const inspection = context.deps.gateway.live?.inspectTenant(context.tenant);
  const toolsOf = new Map(inspection?.services.map((s) => [s.id, s.tools]) ?? []);
  const services = itemsOf(document, 'services');
  const csrf = csrfField(context.csrfToken);
  const addedId = context.query.get('added');
  const deletedId = context.query.get('deleted');
  const notice =
    failed !== undefined
      ? failed
      : addedId !== null
        ? { kind: 'ok' as const, text: `Service ${addedId} added. Add its tools to a toolset on the Toolsets page.` }
        : deletedId !== null
          ? { kind: 'ok' as const, text: `Service ${deletedId} removed.` }
          : undefined;

  if (document === undefined) {
    return {
      kind: 'page',
      title: 'Services',
      body: notStoredNotice('services'),
    };
  }

  const rows = services
    .map((service) => {
      const id = String(service['id'] ?? service['provider'] ?? '');
      const tools = toolsOf.get(id) ?? [];
      const writes = tools.filter((t) => t.access === 'write').length;
      return `<tr><td data-label="Service"><strong>${shown(id)}</strong></td><td data-label="Description">${shown(sourceOf(service))}</td><td data-label="Base URL">${shown(String(service['baseUrl'] ?? ''))}</td><td data-label="Tools" class="num">${tools.length}</td><td data-label="Read / write" class="num">${tools.length - writes} / ${writes}</td><td data-label=""><form method="post" class="inline" data-confirm="Remove service ${escapeHtml(id)}? Toolsets that name its tools stop listing them.">${csrf}${versionField(service)}<input type="hidden" name="action" value="delete"><input type="hidden" name="id" value="${escapeHtml(id)}"><button type="submit" class="danger">Remove</button></form></td></tr>`;
    })
    .join('');
  const list =
    services.length === 0
      ? `<p class="empty">No services yet. Add the first one below: pick a provider from the catalogue, or upload the API's description (OpenAPI, Swagger, Google Discovery, GraphQL or WSDL), or give the URL it is published at. Then make a toolset of its tools on the Toolsets page.</p>`
      : `<div class="scroll"><table class="stack-on-phone"><thead><tr><th>Service</th><th>Description</th><th>Base URL</th><th class="num">Tools</th><th class="num">Read / write</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;

  // The description form as it was sent (a preview, or a refusal), empty on a plain visit.
  const form = context.form.get('action') === 'provider' ? new URLSearchParams() : context.form;
  const value = (name: string) => escapeHtml(form.get(name) ?? '');
  const formats = ['', ...uploadFormats]
    .map(
      (f) =>
        `<option value="${f}"${(form.get('format') ?? '') === f ? ' selected' : ''}>${f === '' ? 'detect' : f}</option>`,
    )
    .join('');
  const upload = `<section class="panel" aria-labelledby="upload-title"><h2 id="upload-title">Add from a description</h2>
<form method="post" class="stack" data-progress="Reading the description and building its tools…">${csrf}
<label>Service id <input name="id" required pattern="[A-Za-z0-9_\\-]+" value="${value('id')}" placeholder="pets"></label>
<label>Description file <input type="file" data-file-into="description-text" accept=".json,.yaml,.yml,.graphql,.gql,.wsdl,.xml"></label>
<label class="wide">or paste it <textarea id="description-text" name="text" rows="4" spellcheck="false">${value('text')}</textarea></label>
<label>or its URL <input name="url" type="url" value="${value('url')}" placeholder="https://example.com/openapi.json"></label>
<label>Format <select name="format">${formats}</select></label>
<label>Base URL (optional) <input name="baseUrl" value="${value('baseUrl')}" placeholder="from the description"></label>
<label>Bearer token variable (optional) <input name="token" value="${value('token')}" placeholder="PETS_TOKEN"></label>
<div class="actions"><button type="submit" name="action" value="preview" class="secondary">Preview tools</button><button type="submit" name="action" value="import">Add service</button></div>
<p class="progress" hidden role="status"><progress></progress> <span></span></p>
</form></section>`;

  const options = catalogue()
    .map(({ provider, pack }) => {
      const size = pack === null ? 'no curated tools' : `${pack.tools.length} tools, ${pack.tokens} tokens`;
      return `<option value="${escapeHtml(provider.id)}">${escapeHtml(provider.name)} (${escapeHtml(provider.auth.type)}; ${escapeHtml(size)})</option>`;
    })
    .join('');
  const fromCatalogue = `<section class="panel" aria-labelledby="catalogue-title"><h2 id="catalogue-title">Add from the catalogue</h2>
<p>Secrets are given as the name of the environment variable that holds them on every gateway process; their values are never stored. This tenant may name only the variables the operator allows it: by default those starting with <code>${escapeHtml(tenantEnvPatterns(context.tenant, undefined)[0]?.slice(0, -1) ?? '')}</code>. Register <code>{publicUrl}/oauth/callback</code> as the redirect URI at the provider.</p>
<form method="post" class="stack">${csrf}<input type="hidden" name="action" value="provider">
<label>Provider <select name="provider">${options}</select></label>
<label>Service id (optional) <input name="id" pattern="[A-Za-z0-9_\\-]*" placeholder="the provider id"></label>
<label>Client id variable <input name="clientId" placeholder="SLACK_CLIENT_ID"></label>
<label>Client secret variable <input name="clientSecret" placeholder="SLACK_CLIENT_SECRET"></label>
<label>API key variable <input name="apiKey" placeholder="for API-key providers"></label>
<label>Token variable <input name="token" placeholder="for token providers"></label>
<div class="actions"><button type="submit">Add provider</button></div></form></section>`;

  return {
    kind: 'page',
    title: 'Services',
    ...(notice ? { notice } : {}),
    body: `${list}${previewed === undefined ? '' : previewTable(previewed.id, previewed.preview)}${upload}${fromCatalogue}`,
  };
}

function previewTable(id: string, preview: DescriptionPreview): string {
  const writes = preview.tools.filter((t) => t.access === 'write').length;
  const rows = preview.tools
    .map(
      (t) =>
        `<tr><td data-label="Tool"><code>${shown(t.name)}</code></td><td data-label="Class"><span class="badge badge-${t.access === 'read' ? 'ok' : 'error'}">${t.access}</span> ${escapeHtml(t.safety)}</td><td data-label="Call"><code>${escapeHtml(t.method)} ${shown(t.path)}</code></td><td data-label="Scopes">${shown(t.scopes.map((s) => s.join(' + ')).join(' or '))}</td><td data-label="Tokens" class="num">${t.tokens}</td></tr>`,
    )
    .join('');
  const warnings =
    preview.warnings.length === 0
      ? '<p>No import warnings: every operation became a tool.</p>'
      : `<h3>Import warnings (${preview.warnings.length})</h3><ul class="warnings">${preview.warnings
          .slice(0, 200)
          .map((w) => `<li><code>${shown(w.at)}</code>: ${shown(w.reason)}</li>`)
          .join('')}</ul>`;
  return `<section class="panel" aria-labelledby="preview-title"><h2 id="preview-title">Preview: ${shown(preview.title)} as ${shown(id)}</h2>
<p class="cards-inline"><strong>${preview.tools.length}</strong> tools (${preview.tools.length - writes} read, ${writes} write) · <strong>${preview.tokens}</strong> tokens in <code>tools/list</code> · format ${escapeHtml(preview.format)}${preview.baseUrl === null ? '' : ` · the description's server: ${shown(preview.baseUrl)} (the base URL you give replaces it)`}</p>
<p>Nothing is saved yet: check the tools, then press <em>Add service</em> below.</p>
<div class="scroll"><table class="stack-on-phone" id="preview-tools"><thead><tr><th>Tool</th><th>Class</th><th>Call</th><th>Scopes</th><th class="num">Tokens</th></tr></thead><tbody>${rows}</tbody></table></div>
${warnings}</section>`;
}
