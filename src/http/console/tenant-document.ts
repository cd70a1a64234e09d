import { GatehouseError, isGatehouseError, type TenantDocument } from '../../core/index.ts';
import type { TenantSummary } from '../../gateway/index.ts';
import type { ConsolePageContext } from './console-page.ts';

type Document = Record<string, unknown>;

/** The tenant's stored configuration document; undefined when the config file alone configures the tenant. */
export async function readTenantDocument(context: ConsolePageContext): Promise<Document | undefined> {
  const configs = context.deps.gateway.tenantConfigs;
  if (configs === undefined || context.deps.gateway.live === undefined) return undefined;
  return (await configs.read(context.tenant))?.config as Document | undefined;
}

/**
 * Changes the tenant's stored document as the admin API does: validated by the config file's schema (a secret
 * value refused), audited naming the signed-in user, on the revision read (a concurrent change is not undone).
 */
export async function changeTenantDocument(
  context: ConsolePageContext,
  summary: string,
  change: (document: Document) => Document,
): Promise<void> {
  const configs = context.deps.gateway.tenantConfigs;
  const stored = configs === undefined ? undefined : await configs.read(context.tenant);
  if (configs === undefined || stored === undefined || context.deps.gateway.live === undefined) {
    throw new GatehouseError(
      'invalid_request',
      'This tenant is configured by the config file alone: change it there (or start the gateway with gatehouse serve, which stores it)',
    );
  }
  try {
    await configs.write(context.tenant, change(stored.config as Document) as TenantDocument, {
      expectedRevision: stored.revision,
      actor: context.actor,
      summary,
      // Every console session is a user of this tenant, never the operator.
      byTenantUser: true,
    });
  } catch (error) {
    // The schema's message names the field (`services[2].baseUrl: ...`); shown to the person as a 400.
    if (isGatehouseError(error) && error.code === 'config_invalid') {
      throw new GatehouseError('invalid_request', error.message.replace(/^tenant: invalid configuration\n\s*/, ''));
    }
    throw error;
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
