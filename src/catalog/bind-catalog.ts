import { createHash } from 'node:crypto';
import type { Catalog, NamedTool, ServiceCatalog } from '../core/index.ts';
import { toolNameMax, toToolName } from './tool-name.ts';

const bound = new WeakMap<Catalog, Map<string, ServiceCatalog>>();

/**
 * Names a catalogue's tools for one service id (`toToolName`). Memoised per catalogue object and service id, so
 * every tenant registering the same description under the same id shares one frozen ServiceCatalog. Names are
 * unique: should two tools still meet after shortening, the later one (catalogue order) is renamed with a hash
 * of its key and a counter, which is deterministic for the same description.
 */
export function bindCatalog(catalog: Catalog, service: string): ServiceCatalog {
  let perService = bound.get(catalog);
  if (perService === undefined) {
    perService = new Map();
    bound.set(catalog, perService);
  }
  const known = perService.get(service);
  if (known !== undefined) return known;
  const byName = new Map<string, NamedTool>();
  const tools = catalog.tools.map((tool) => {
    let name = toToolName(service, tool.key);
    for (let n = 2; byName.has(name); n++) name = renameOnCollision(name, tool.key, n);
    const named: NamedTool = Object.freeze({ name, service, tool });
    byName.set(name, named);
    return named;
  });
  const result: ServiceCatalog = Object.freeze({ service, catalog, tools: Object.freeze(tools), byName });
  perService.set(service, result);
  return result;
}

function renameOnCollision(name: string, key: string, n: number): string {
  const hash = createHash('sha256').update(`${key}#${n}`).digest('hex').slice(0, 8);
  return `${name.slice(0, toolNameMax - hash.length - 1)}_${hash}`;
}
