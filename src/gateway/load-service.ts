import { applyOverlays, bindCatalog, loadCatalog } from '../catalog/index.ts';
import type { ServiceConfig } from '../core/index.ts';

/**
 * Loads a service's description (shared across tenants by content), applies its tool overlays (shared by equal
 * overlays) and binds it to the service id. `at` is the service's config path, for overlay errors.
 */
export function loadService(service: ServiceConfig, at = `services.${service.id}`) {
  const catalog = applyOverlays(
    loadCatalog((service.openapi ?? service.swagger) as string),
    service.overlays ?? {},
    `${at}.overlays`,
  );
  return { catalog, bound: bindCatalog(catalog, service.id) };
}
