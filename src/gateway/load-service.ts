import {
  applyOverlays,
  bindCatalog,
  dropFixedHeaderArguments,
  loadCatalog,
  loadCatalogText,
  transformMcpTools,
} from '../catalog/index.ts';
import { type Catalog, type DescriptionFormat, GatehouseError, type ServiceConfig } from '../core/index.ts';
import { storedDigestOf } from './service-descriptions.ts';

/** The text of a description stored through the admin API (`stored:<sha256>`), when this process has it. */
export type StoredDescriptionText = (digest: string) => string | undefined;

/** The config field of each description format. */
const sourceFields = [
  ['openapi', 'openapi'],
  ['swagger', 'swagger'],
  ['googleDiscovery', 'discovery'],
  ['graphql', 'graphql'],
  ['wsdl', 'wsdl'],
  ['mcp', 'mcp'],
] as const satisfies readonly (readonly [keyof ServiceConfig, DescriptionFormat])[];

/** The config field naming a service's description (exactly one is set, the config schema checks it) and its path. */
export function descriptionSourceOf(service: ServiceConfig): {
  field: (typeof sourceFields)[number][0];
  format: DescriptionFormat;
  path: string;
} {
  for (const [field, format] of sourceFields) {
    const path = service[field];
    if (path !== undefined) return { field, format, path };
  }
  throw new Error(`service ${service.id} has no description source`);
}

/** A service's description as imported, before overlays (shared across tenants by content and options). */
export function loadPlainCatalog(service: ServiceConfig, stored?: StoredDescriptionText): Catalog {
  const { field, format, path } = descriptionSourceOf(service);
  // A remote MCP server's tools are listed from it when the gateway starts (create-federation.ts), not read here.
  if (format === 'mcp') return unlistedMcpCatalog(path);
  // OpenAPI and Swagger are told apart by the document itself (either key takes either, as always).
  const options = {
    ...(format === 'openapi' || format === 'swagger' ? {} : { format }),
    ...(service.selectionDepth === undefined ? {} : { selectionDepth: service.selectionDepth }),
  };
  const digest = storedDigestOf(path);
  if (digest === undefined) return loadCatalog(path, options);
  const text = stored?.(digest);
  if (text === undefined) {
    throw new GatehouseError(
      'description_invalid',
      `${field}: the stored description ${digest.slice(0, 12)} of service ${service.id} is not in the store`,
      { source: path },
    );
  }
  return loadCatalogText(digest, text, `service ${service.id}`, options);
}

/**
 * Loads a service's description (shared across tenants by content), applies its tool overlays (shared by equal
 * overlays), drops the header arguments its fixed `headers` supply, and binds it to the service id. `at` is the
 * service's config path, for overlay errors.
 */
export function loadService(service: ServiceConfig, at = `services.${service.id}`, stored?: StoredDescriptionText) {
  const overlaid = applyOverlays(loadPlainCatalog(service, stored), service.overlays ?? {}, `${at}.overlays`);
  const catalog = dropFixedHeaderArguments(overlaid, Object.keys(service.headers ?? {}));
  return { catalog, bound: bindCatalog(catalog, service.id) };
}

/** The catalogue of an MCP service before (or without) its listing: no tools yet. */
export function unlistedMcpCatalog(url: string): Catalog {
  return transformMcpTools([], url);
}
