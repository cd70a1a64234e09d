import { bindCatalog, loadCatalog } from '../catalog/index.ts';
import type { ServiceConfig } from '../core/index.ts';

/** Loads a service's description (shared across tenants by content) and binds it to the service id. */
export function loadService(service: ServiceConfig) {
  const catalog = loadCatalog((service.openapi ?? service.swagger) as string);
  return { catalog, bound: bindCatalog(catalog, service.id) };
}
