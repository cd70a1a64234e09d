import {
  escapeHtml,
  GatehouseError,
  isGatehouseError,
  RevisionConflictError,
  type TenantDocument,
} from '../../core/index.ts';
import type { TenantSummary } from '../../gateway/index.ts';
import { etagOf } from '../create-tenant-resource-routes.ts';
import { maxRewriteAttempts, pauseBeforeRewrite } from '../rewrite-after-conflict.ts';
import { type ConsolePageContext, StaleFormError } from './console-page.ts';

type Document = Record<string, unknown>;

/**
 * Why a tenant's services or toolsets cannot be changed in the console, and what to do instead: the gateway does not
 * store a tenant of the config file whose secret is written as a value (`serve` warns `tenant not stored` at start),
 * nor the built-in demo tenant, so only the file (or `--demo`) configures it.
 */
export function notStoredNotice(section: 'services' | 'toolsets'): string {
  return (
    `<p class="empty">This tenant cannot be changed here: a secret of it is written as a value in the config rather ` +
    `than an <code>\${env:NAME}</code> reference, so the gateway does not store it and the config alone configures it ` +
    `(<code>gatehouse serve</code> names the fields at start: <code>tenant not stored</code>), or it is the built-in ` +
    `demo tenant of <code>gatehouse serve --demo</code>, which is never stored. Change <code>${section}:</code> in the config (see ` +
    `docs/configuration.md), or write its secrets as <code>\${env:NAME}</code> references so that the next start ` +
    `stores it. To try this page, create a tenant as the operator: <code>POST /api/v1/tenants</code> with ` +
    `<code>{"id": "acme"}</code> (see docs/admin-api.md).</p>`
  );
}

/**
 * The hidden field a form that changes one resource of the tenant document carries: the resource's version when
 * the page was made (the admin API's `ETag` of it), or empty when the form makes a new one. `checkFormVersion`
 * compares it with the stored resource, as the admin API does with `If-Match`.
 */
export function versionField(resource: Document | undefined): string {
  return `<input type="hidden" name="version" value="${escapeHtml(versionOf(resource))}">`;
}

/** The value of the `version` field (for `postButton`'s fields): the resource's ETag, empty for none. */
export function versionOf(resource: Document | undefined): string {
  return resource === undefined ? '' : etagOf(resource);
}

/**
 * Refuses a form made from another version of the resource than the stored one (someone saved, made or removed it
 * since the page was opened): a `StaleFormError`, so the console shows what was not saved and a link to `reload`.
 * Call it inside `changeTenantDocument`'s change, so it judges the document that is written.
 */
export function checkFormVersion(
  context: ConsolePageContext,
  what: string,
  current: Document | undefined,
  reload: string,
): void {
  const sent = context.form.get('version') ?? '';
  if (sent === versionOf(current)) return;
  throw new StaleFormError(
    `${what} changed since you opened this form (someone else saved, made or removed it); nothing was saved`,
    reload,
  );
}

/** The tenant's stored configuration document; undefined when the config file alone configures the tenant. */
export async function readTenantDocument(context: ConsolePageContext): Promise<Document | undefined> {
  const configs = context.deps.gateway.tenantConfigs;
  if (configs === undefined || context.deps.gateway.live === undefined) return undefined;
  return (await configs.read(context.tenant))?.config as Document | undefined;
}

/**
 * Changes the tenant's stored document as the admin API does: validated by the config file's schema (a secret
 * value refused), audited naming the signed-in user (or `operator`), on the revision read (a concurrent change is not undone).
 * When another write came first, `change` runs again on the new revision, so its `checkFormVersion` sees it.
 */
export async function changeTenantDocument(
  context: ConsolePageContext,
  summary: string,
  change: (document: Document) => Document,
): Promise<void> {
  const configs = context.deps.gateway.tenantConfigs;
  for (let attempt = 1; ; attempt++) {
    const stored = configs === undefined ? undefined : await configs.read(context.tenant);
    if (configs === undefined || stored === undefined || context.deps.gateway.live === undefined) {
      throw new GatehouseError(
        'invalid_request',
        'This tenant is not stored (a secret of it is written as a value in the config, not an ${env:NAME} reference, or it is the built-in demo tenant), so the config alone configures it: change it there',
      );
    }
    try {
      await configs.write(context.tenant, change(stored.config as Document) as TenantDocument, {
        expectedRevision: stored.revision,
        actor: context.actor,
        summary,
        // The operator may reference any `${env:NAME}`, as with the admin token; a user only the tenant's own.
        byTenantUser: !context.operator,
      });
      // This process serves the change before the page answers, so that page shows it (tools, live tools/list).
      await context.deps.settle?.();
      return;
    } catch (error) {
      if (error instanceof RevisionConflictError && attempt < maxRewriteAttempts) {
        await pauseBeforeRewrite(attempt);
        continue;
      }
      // The schema's message names the field (`services[2].baseUrl: ...`); shown to the person as a 400.
      if (isGatehouseError(error) && error.code === 'config_invalid') {
        throw new GatehouseError('invalid_request', error.message.replace(/^tenant: invalid configuration\n\s*/, ''));
      }
      throw error;
    }
  }
}

/** The tenant as the gateway runs it: its services, and its toolsets with their URLs (undefined: not running). */
export async function runningTenantOf(context: ConsolePageContext): Promise<TenantSummary | undefined> {
  return (await context.deps.gateway.admin.listTenants()).find((t) => t.id === context.tenant);
}

/** A list of the document (`services`, `toolsets`) as objects. */
export function itemsOf(document: Document | undefined, key: 'services' | 'toolsets'): Document[] {
  const items = document?.[key];
  return Array.isArray(items) ? (items as Document[]) : [];
}
