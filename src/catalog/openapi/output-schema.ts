import type { JsonSchema } from '../../core/index.ts';
import { asRecord, type ImportContext, resolvePointer } from './import-context.ts';

/**
 * Object levels whose properties are listed: the root's (0) and those of the objects they hold (1, array items
 * included); deeper objects are only `{ type: object }`. Two levels name what a model looks for (`data[].id`,
 * `user.name`) at a fraction of the tokens of the full schema.
 */
export const outputListedLevels = 2;
/** Properties listed per object (in the description's order); the others are still allowed. */
export const outputMaxProperties = 20;
/** Root members Gatehouse itself may add to a result (`_nextPage`, the `_gatehouse` note): never declared. */
export const reservedOutputMembers: readonly string[] = ['_gatehouse', '_nextPage'];

const jsonTypes = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);

/** A tool's output schema and whether it wraps a non-object answer as `{ result }` (as results are delivered). */
export interface OutputSchema {
  readonly schema: JsonSchema;
  readonly wrapped: boolean;
}

/**
 * A response schema (raw, as in the description) -> the compact `outputSchema` a tool declares, or undefined when
 * it would say nothing (no schema, or an object with no listed property).
 *
 * Declared is only what every delivered result can honour (docs/configuration.md, "Structured output"): `type`,
 * `properties` (two object levels, at most 20 each) and `items`, inline (no `$ref`, so every client validator reads
 * it the same, whatever its draft). No `required`, `additionalProperties: false`, `enum`, `format` or bounds:
 * upstreams add fields and values their descriptions do not list, and a result that fails the schema a client
 * holds is refused by the SDK clients. An answer that is not an object is delivered as `{ result }`, so its
 * schema is wrapped the same way. Gatehouse validates every result against this schema before it is sent.
 */
export function toOutputSchema(ctx: ImportContext, raw: unknown): OutputSchema | undefined {
  return toRootOutputSchema(compact(ctx, raw, 0, 0));
}

/**
 * The schema a tool declares for an answer whose compact schema is `natural` (every importer builds it in the form
 * `toOutputSchema` describes): an object's properties without the reserved members, or a non-object wrapped as
 * `{ result }`; undefined when it would say nothing.
 */
export function toRootOutputSchema(natural: JsonSchema | undefined): OutputSchema | undefined {
  if (natural === undefined) return undefined;
  if (natural['type'] === 'object') {
    const properties = { ...(natural['properties'] as Record<string, JsonSchema> | undefined) };
    for (const name of reservedOutputMembers) delete properties[name];
    if (Object.keys(properties).length === 0) return undefined;
    return { schema: Object.freeze({ type: 'object', properties }), wrapped: false };
  }
  if (Object.keys(natural).length === 0) return undefined;
  return { schema: Object.freeze({ type: 'object', properties: { result: natural } }), wrapped: true };
}

function compact(ctx: ImportContext, raw: unknown, level: number, hops: number): JsonSchema | undefined {
  let source = asRecord(raw);
  for (let n = 0; source !== undefined && typeof source['$ref'] === 'string' && n < 16; n++) {
    source = asRecord(resolvePointer(ctx, source['$ref']));
  }
  if (source === undefined || hops > 32) return undefined;
  const alternatives = (source['anyOf'] ?? source['oneOf']) as unknown;
  if (Array.isArray(alternatives) && source['type'] === undefined) return unionOf(ctx, alternatives, level, hops);
  const all = source['allOf'];
  if (Array.isArray(all) && source['type'] === undefined && source['properties'] === undefined) {
    return mergeOf(ctx, all, level, hops);
  }
  const types = typesOf(source, ctx);
  if (types === undefined) return {};
  const out: Record<string, unknown> = { type: types.length === 1 ? types[0] : types };
  if (types.includes('object') && level < outputListedLevels) {
    const properties: Record<string, JsonSchema> = {};
    for (const [name, sub] of Object.entries(propertiesOf(ctx, source)).slice(0, outputMaxProperties)) {
      properties[name] = compact(ctx, sub, level + 1, hops + 1) ?? {};
    }
    if (Object.keys(properties).length > 0) out['properties'] = properties;
  }
  if (types.includes('array') && source['items'] !== undefined && !Array.isArray(source['items'])) {
    const items = compact(ctx, source['items'], level, hops + 1);
    if (items !== undefined && Object.keys(items).length > 0) out['items'] = items;
  }
  return out;
}

/** `anyOf`/`oneOf`: the union of the alternatives' types when each has one, else anything. */
function unionOf(ctx: ImportContext, alternatives: unknown[], level: number, hops: number): JsonSchema {
  const types = new Set<string>();
  for (const alternative of alternatives) {
    const type = compact(ctx, alternative, level, hops + 1)?.['type'];
    if (type === undefined) return {};
    for (const t of [type].flat() as string[]) types.add(t);
  }
  if (types.size === 0) return {};
  return { type: types.size === 1 ? [...types][0] : [...types] };
}

/** `allOf` without a type of its own: the members' properties together (object), or the first member's type. */
function mergeOf(ctx: ImportContext, members: unknown[], level: number, hops: number): JsonSchema {
  const compacted = members.map((member) => compact(ctx, member, level, hops + 1) ?? {});
  if (!compacted.every((member) => member['type'] === 'object' || member['type'] === undefined)) {
    return compacted.find((member) => member['type'] !== undefined) ?? {};
  }
  if (!compacted.some((member) => member['type'] === 'object')) return {};
  const properties: Record<string, JsonSchema> = {};
  for (const member of compacted) Object.assign(properties, member['properties'] ?? {});
  const listed = Object.entries(properties).slice(0, outputMaxProperties);
  return listed.length === 0 ? { type: 'object' } : { type: 'object', properties: Object.fromEntries(listed) };
}

function propertiesOf(ctx: ImportContext, source: Record<string, unknown>): Record<string, unknown> {
  const own = asRecord(source['properties']) ?? {};
  const all = source['allOf'];
  if (!Array.isArray(all)) return own;
  const merged: Record<string, unknown> = {};
  for (const member of all) {
    let record = asRecord(member);
    for (let n = 0; record !== undefined && typeof record['$ref'] === 'string' && n < 16; n++) {
      record = asRecord(resolvePointer(ctx, record['$ref']));
    }
    Object.assign(merged, asRecord(record?.['properties']) ?? {});
  }
  return { ...merged, ...own };
}

/** The JSON types a schema allows (OpenAPI 3.0 `nullable` and Swagger `x-nullable` add `null`); undefined: any. */
function typesOf(source: Record<string, unknown>, ctx: ImportContext): string[] | undefined {
  const type = source['type'];
  let types: string[];
  if (typeof type === 'string') types = [type];
  else if (Array.isArray(type)) types = type.filter((t): t is string => typeof t === 'string');
  else if (source['properties'] !== undefined || source['allOf'] !== undefined) types = ['object'];
  else if (source['items'] !== undefined) types = ['array'];
  else return undefined;
  types = types.map((t) => (t === 'file' ? 'string' : t)).filter((t) => jsonTypes.has(t));
  if (types.length === 0) return undefined;
  const nullable = ctx.dialect === '2.0' ? source['x-nullable'] === true : source['nullable'] === true;
  if (nullable && !types.includes('null')) types.push('null');
  return [...new Set(types)];
}
