import { createHash } from 'node:crypto';
import { compile } from '@jmespath-community/jmespath';
import {
  type Catalog,
  GatehouseError,
  type JsonSchema,
  type ServiceConfig,
  suggestFieldName,
  type Tool,
  type ToolSafety,
} from '../core/index.ts';

export type ToolOverlays = ServiceConfig['overlays'];
type Overlay = ToolOverlays[string];

/** How many operation ids an error about an unknown operation lists. */
const maxListedOperations = 40;

const applied = new WeakMap<Catalog, Map<string, Catalog>>();

/**
 * A catalogue with a service's tool overlays applied (docs/configuration.md, "Tool overlays"): each overlaid tool
 * is a new frozen Tool (renamed key, description, input schema without hidden and fixed arguments and with
 * defaults and constraints, safety and annotations); the others are the same objects. Memoised per catalogue and
 * overlay content, so tenants with the same overlays share one result; no overlays returns `catalog` itself.
 *
 * Validated against the description: an overlay naming an operation or an argument that does not exist, hiding a
 * required argument, or a name another tool has, throws `config_invalid` naming the config path (`at`), the
 * operation and the argument, with a did-you-mean.
 */
export function applyOverlays(catalog: Catalog, overlays: ToolOverlays, at: string): Catalog {
  const entries = Object.entries(overlays);
  if (entries.length === 0) return catalog;
  const key = JSON.stringify(entries);
  let perCatalog = applied.get(catalog);
  if (perCatalog === undefined) {
    perCatalog = new Map();
    applied.set(catalog, perCatalog);
  }
  const known = perCatalog.get(key);
  if (known !== undefined) return known;
  const byOperation = new Map<string, Tool>();
  for (const tool of catalog.tools) {
    byOperation.set(tool.operation, tool);
    byOperation.set(tool.key, tool);
  }
  const replaced = new Map<Tool, Tool>();
  for (const [operation, overlay] of entries) {
    const where = `${at}.${operation}`;
    const tool = byOperation.get(operation);
    if (tool === undefined) {
      const suggestion = suggestFieldName(operation, [...byOperation.keys()]);
      // The valid names too: a guess that is far from every name gets no suggestion, and a reader copying an
      // example needs to see what the description calls its operations. Capped: a large API has a thousand.
      const operations = catalog.tools.map((t) => t.operation);
      const shown = operations.slice(0, maxListedOperations).join(', ');
      const more = operations.length > maxListedOperations ? `, ... (${operations.length} in all)` : '';
      throw invalid(
        where,
        `no operation '${operation}' in the description${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}; its operations: ${shown || 'none'}${more}`,
        { operation },
      );
    }
    if (replaced.has(tool)) throw invalid(where, `operation '${operation}' has another overlay already`, { operation });
    replaced.set(tool, overlayTool(tool, overlay, where));
  }
  const tools = catalog.tools.map((tool) => replaced.get(tool) ?? tool);
  const keys = new Map<string, Tool>();
  for (const tool of tools) {
    const other = keys.get(tool.key);
    if (other !== undefined) {
      const renamed = replaced.has(tool) ? tool : other;
      throw invalid(
        `${at}.${renamed.operation}.name`,
        `'${tool.key}' is already the name of operation '${(renamed === tool ? other : tool).operation}'`,
        { operation: renamed.operation },
      );
    }
    keys.set(tool.key, tool);
  }
  const result: Catalog = Object.freeze({
    ...catalog,
    // A distinct id: tools, listings and caches keyed by the catalogue never mix the plain and the overlaid form.
    id: createHash('sha256').update(`${catalog.id}\u0000${key}`).digest('hex'),
    tools: Object.freeze(tools),
  });
  perCatalog.set(key, result);
  return result;
}

function overlayTool(tool: Tool, overlay: Overlay, where: string): Tool {
  const schema = structuredClone(tool.inputSchema) as Record<string, unknown>;
  const argumentsOf = () => listArguments(schema);
  const locate = (argument: string, field: string) => {
    const found = locateArgument(schema, argument);
    if (found === undefined) {
      const names = argumentsOf();
      const suggestion = suggestFieldName(argument, names);
      throw invalid(
        `${where}.${field}`,
        `operation '${tool.operation}' has no argument '${argument}'${
          suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`
        }; its arguments: ${names.join(', ') || 'none'}`,
        { operation: tool.operation, argument },
      );
    }
    return found;
  };
  for (const [i, argument] of overlay.hide.entries()) {
    const found = locate(argument, `hide[${i}]`);
    if (found.required && !(argument in overlay.defaults)) {
      throw invalid(
        `${where}.hide[${i}]`,
        `argument '${argument}' of '${tool.operation}' is required; fix its value (fixed:) or give a default`,
        { operation: tool.operation, argument },
      );
    }
    found.remove();
  }
  for (const argument of Object.keys(overlay.fixed)) locate(argument, `fixed.${argument}`).remove();
  for (const [argument, value] of Object.entries(overlay.defaults)) {
    if (overlay.hide.includes(argument)) continue;
    const found = locate(argument, `defaults.${argument}`);
    found.property['default'] = value;
    found.optional();
  }
  for (const [argument, keywords] of Object.entries(overlay.constraints)) {
    Object.assign(locate(argument, `constraints.${argument}`).property, keywords);
  }
  if (overlay.projection !== undefined) {
    try {
      compile(overlay.projection);
    } catch {
      throw invalid(`${where}.projection`, 'expected a JMESPath expression (it does not parse)', {
        operation: tool.operation,
      });
    }
  }
  const safety: ToolSafety = overlay.safety ?? tool.safety;
  const key = overlay.name ?? tool.key;
  return deepFreeze({
    ...tool,
    key,
    ...(overlay.description === undefined ? {} : { description: overlay.description }),
    inputSchema: schema as JsonSchema,
    safety,
    annotations: {
      ...tool.annotations,
      readOnlyHint: safety === 'safe',
      destructiveHint: safety === 'destructive',
    },
    ...(Object.keys(overlay.fixed).length === 0
      ? {}
      : { fixedArguments: { ...tool.fixedArguments, ...overlay.fixed } }),
    ...(overlay.projection === undefined ? {} : { projection: overlay.projection }),
    ...(Object.keys(overlay.defaults).length === 0
      ? {}
      : { defaultArguments: { ...tool.defaultArguments, ...overlay.defaults } }),
    ...(overlay.hide.length === 0 ? {} : { hiddenArguments: [...(tool.hiddenArguments ?? []), ...overlay.hide] }),
  });
}

interface LocatedArgument {
  readonly property: Record<string, unknown>;
  readonly required: boolean;
  remove(): void;
  optional(): void;
}

/** An argument of an input schema: a top-level property, or `body.<property>` of an object body. */
function locateArgument(schema: Record<string, unknown>, argument: string): LocatedArgument | undefined {
  const dot = argument.indexOf('.');
  const parent = dot < 0 ? schema : objectProperty(schema, argument.slice(0, dot));
  const name = dot < 0 ? argument : argument.slice(dot + 1);
  if (parent === undefined) return undefined;
  const properties = parent['properties'] as Record<string, Record<string, unknown>> | undefined;
  const property = properties?.[name];
  if (properties === undefined || property === undefined || typeof property !== 'object') return undefined;
  const requiredOf = () => (Array.isArray(parent['required']) ? (parent['required'] as string[]) : []);
  const dropRequired = () => {
    const left = requiredOf().filter((r) => r !== name);
    if (left.length > 0) parent['required'] = left;
    else delete parent['required'];
  };
  return {
    property,
    required: requiredOf().includes(name),
    remove() {
      delete properties[name];
      dropRequired();
    },
    optional: dropRequired,
  };
}

function objectProperty(schema: Record<string, unknown>, name: string): Record<string, unknown> | undefined {
  const value = (schema['properties'] as Record<string, unknown> | undefined)?.[name];
  return value !== null && typeof value === 'object' && 'properties' in value
    ? (value as Record<string, unknown>)
    : undefined;
}

function listArguments(schema: Record<string, unknown>): string[] {
  const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
  return Object.keys(properties).flatMap((name) => {
    const nested = objectProperty(schema, name);
    const inner = nested === undefined ? [] : Object.keys(nested['properties'] as object).map((p) => `${name}.${p}`);
    return [name, ...inner];
  });
}

function invalid(path: string, message: string, details: Record<string, string>): GatehouseError {
  return new GatehouseError('config_invalid', `${path}: ${message}`, { path, ...details });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
