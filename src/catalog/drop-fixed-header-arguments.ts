import { createHash } from 'node:crypto';
import type { Catalog, JsonSchema, Tool } from '../core/index.ts';

const dropped = new WeakMap<Catalog, Map<string, Catalog>>();

/**
 * A catalogue without the header parameters a service's fixed `headers` supply (Twitch `Client-Id`, Xero
 * `xero-tenant-id`, GitHub `X-GitHub-Api-Version`; names compared in any case): gone from each tool's input schema
 * and request, so the model is never asked to invent a value the gateway sends anyway. The other tools are the
 * same objects; memoised per catalogue and header names; nothing to drop returns `catalog` itself.
 */
export function dropFixedHeaderArguments(catalog: Catalog, headerNames: readonly string[]): Catalog {
  if (headerNames.length === 0) return catalog;
  const fixed = new Set(headerNames.map((name) => name.toLowerCase()));
  const key = [...fixed].sort().join('\n');
  let perCatalog = dropped.get(catalog);
  if (perCatalog === undefined) {
    perCatalog = new Map();
    dropped.set(catalog, perCatalog);
  }
  const known = perCatalog.get(key);
  if (known !== undefined) return known;
  let changed = false;
  const tools = catalog.tools.map((tool) => {
    const next = withoutHeaders(tool, fixed);
    if (next !== tool) changed = true;
    return next;
  });
  const result: Catalog = changed
    ? Object.freeze({
        ...catalog,
        // A distinct id: listings and caches keyed by the catalogue never mix the two forms.
        id: createHash('sha256').update(`${catalog.id}\u0000headers\u0000${key}`).digest('hex'),
        tools: Object.freeze(tools),
      })
    : catalog;
  perCatalog.set(key, result);
  return result;
}

function withoutHeaders(tool: Tool, fixed: ReadonlySet<string>): Tool {
  const supplied = tool.request.parameters.filter((p) => p.in === 'header' && fixed.has(p.name.toLowerCase()));
  if (supplied.length === 0) return tool;
  const schema = structuredClone(tool.inputSchema) as Record<string, unknown>;
  const properties = schema['properties'] as Record<string, unknown> | undefined;
  const names = new Set(supplied.map((p) => p.argument));
  for (const name of names) delete properties?.[name];
  if (Array.isArray(schema['required'])) {
    const left = (schema['required'] as string[]).filter((name) => !names.has(name));
    if (left.length > 0) schema['required'] = left;
    else delete schema['required'];
  }
  return Object.freeze({
    ...tool,
    inputSchema: Object.freeze(schema) as JsonSchema,
    request: Object.freeze({
      ...tool.request,
      parameters: Object.freeze(tool.request.parameters.filter((p) => !supplied.includes(p))),
    }),
  });
}
