import { bindCatalog, loadCatalog } from '../catalog/index.ts';
import type { DescriptionFormat, ServiceConfig } from '../core/index.ts';

const formats = ['openapi', 'swagger', 'discovery', 'graphql', 'wsdl'] as const satisfies readonly DescriptionFormat[];

/** The config field naming a service's description (exactly one is set, the config schema checks it) and its path. */
export function descriptionSourceOf(service: ServiceConfig): { format: DescriptionFormat; path: string } {
  for (const format of formats) {
    const path = service[format];
    if (path !== undefined) return { format, path };
  }
  throw new Error(`service ${service.id} has no description source`);
}

/** Loads a service's description (shared across tenants by content) and binds it to the service id. */
export function loadService(service: ServiceConfig) {
  const { format, path } = descriptionSourceOf(service);
  // OpenAPI and Swagger are told apart by the document itself (either key takes either, as always).
  const catalog = loadCatalog(path, {
    ...(format === 'openapi' || format === 'swagger' ? {} : { format }),
    ...(service.selectionDepth === undefined ? {} : { selectionDepth: service.selectionDepth }),
  });
  return { catalog, bound: bindCatalog(catalog, service.id) };
}
