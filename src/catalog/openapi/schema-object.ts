import type { JsonSchema } from '../../core/index.ts';
import { cleanDescription } from '../clean-description.ts';
import { asRecord, type ConvertedDef, type ImportContext, ImportIssue, resolvePointer } from './import-context.ts';

/** Longest description kept inside a schema; schemas are sent to models and must stay small. */
const schemaDescriptionMax = 200;
const maxDepth = 64;

const jsonTypes = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);
/** Formats ajv-formats knows; others are dropped so the schema compiles without warnings anywhere. */
const knownFormats = new Set([
  'date',
  'time',
  'date-time',
  'iso-time',
  'iso-date-time',
  'duration',
  'uri',
  'uri-reference',
  'uri-template',
  'url',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'regex',
  'uuid',
  'json-pointer',
  'json-pointer-uri-fragment',
  'relative-json-pointer',
  'byte',
  'int32',
  'int64',
  'float',
  'double',
  'password',
  'binary',
]);
const countKeywords = [
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'minContains',
  'maxContains',
] as const;
const numberKeywords = ['minimum', 'maximum', 'multipleOf'] as const;
const copiedKeywords = ['const', 'default', 'title', 'deprecated', 'contentMediaType', 'contentEncoding'] as const;
const singleSubschemas = [
  'additionalProperties',
  'contains',
  'not',
  'if',
  'then',
  'else',
  'propertyNames',
  'unevaluatedProperties',
  'unevaluatedItems',
] as const;
const listSubschemas = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;
const mapSubschemas = ['properties', 'patternProperties', 'dependentSchemas'] as const;

/**
 * Schema Object (OpenAPI 3.0 / 3.1, Swagger 2.0) -> JSON Schema 2020-12 for a tool's input.
 *
 * Keeps only JSON Schema keywords (drops `example(s)`, `discriminator`, `xml`, `externalDocs`, `x-*`, `$id`,
 * inline `$defs`), converts 3.0 `nullable` and boolean `exclusiveMinimum/Maximum`, drops `readOnly` properties
 * (this is a request schema), formats ajv-formats does not know and patterns that are not valid `u` regexes.
 * Every `$ref` becomes `#/$defs/<name>` and its JSON pointer is added to `refs`; the target is converted
 * separately and only once per catalogue (see `collectDefs`), so cycles need no special handling.
 */
export function transformSchemaObject(
  ctx: ImportContext,
  schema: unknown,
  refs: Set<string>,
  depth = 0,
): JsonSchema | boolean {
  if (typeof schema === 'boolean') return schema;
  const source = asRecord(schema);
  if (source === undefined) return {};
  if (depth > maxDepth) throw new ImportIssue('schema nested too deeply');
  const out: Record<string, unknown> = {};
  const ref = source['$ref'];
  if (typeof ref === 'string') {
    const target = referenceDef(ctx, ref, refs);
    // OpenAPI 3.0 and Swagger 2: siblings of $ref are ignored (only `nullable` is honoured, as tools expect).
    if (ctx.dialect !== '3.1') return source['nullable'] === true ? { anyOf: [target, { type: 'null' }] } : target;
    out['$ref'] = target.$ref;
  }
  convertType(source, out);
  for (const keyword of countKeywords) {
    const value = source[keyword];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) out[keyword] = value;
  }
  for (const keyword of numberKeywords) {
    const value = source[keyword];
    if (typeof value === 'number' && (keyword !== 'multipleOf' || value > 0)) out[keyword] = value;
  }
  convertExclusive(source, out, 'exclusiveMinimum', 'minimum');
  convertExclusive(source, out, 'exclusiveMaximum', 'maximum');
  for (const keyword of copiedKeywords) if (source[keyword] !== undefined) out[keyword] = source[keyword];
  if (source['uniqueItems'] === true) out['uniqueItems'] = true;
  if (Array.isArray(source['enum']) && source['enum'].length > 0) out['enum'] = source['enum'];
  const format = source['format'];
  if (typeof format === 'string' && knownFormats.has(format)) out['format'] = format;
  const pattern = source['pattern'];
  if (typeof pattern === 'string' && isValidPattern(pattern)) out['pattern'] = pattern;
  const description = source['description'];
  if (typeof description === 'string' && description.length > 0) {
    out['description'] = cleanDescription(description, schemaDescriptionMax);
  }
  if (Array.isArray(source['required'])) {
    const required = [...new Set(source['required'].filter((name) => typeof name === 'string'))];
    if (required.length > 0) out['required'] = required;
  }
  if (asRecord(source['dependentRequired'])) out['dependentRequired'] = source['dependentRequired'];
  for (const keyword of singleSubschemas) {
    const value = source[keyword];
    if (value !== undefined) out[keyword] = transformSchemaObject(ctx, value, refs, depth + 1);
  }
  const items = source['items'];
  if (Array.isArray(items)) out['prefixItems'] = items.map((item) => transformSchemaObject(ctx, item, refs, depth + 1));
  else if (items !== undefined) out['items'] = transformSchemaObject(ctx, items, refs, depth + 1);
  for (const keyword of listSubschemas) {
    const value = source[keyword];
    if (Array.isArray(value) && value.length > 0 && out[keyword] === undefined) {
      out[keyword] = value.map((item) => transformSchemaObject(ctx, item, refs, depth + 1));
    }
  }
  for (const keyword of mapSubschemas) {
    const value = asRecord(source[keyword]);
    if (value === undefined) continue;
    const converted: Record<string, unknown> = {};
    for (const [name, sub] of Object.entries(value)) {
      if (keyword === 'patternProperties' && !isValidPattern(name)) continue;
      if (keyword === 'properties' && isReadOnly(ctx, sub)) continue;
      converted[name] = transformSchemaObject(ctx, sub, refs, depth + 1);
    }
    out[keyword] = converted;
  }
  dropRemovedRequired(source, out);
  return applyNullable(source, out, ctx);
}

/**
 * The `$defs` a tool's schema needs: every component reached from `refs`, transitively, each converted once per
 * catalogue. Undefined when nothing is referenced.
 */
export function collectDefs(
  ctx: ImportContext,
  refs: ReadonlySet<string>,
): Record<string, JsonSchema | boolean> | undefined {
  if (refs.size === 0) return undefined;
  const defs: Record<string, JsonSchema | boolean> = {};
  const seen = new Set<string>();
  const queue = [...refs];
  for (let pointer = queue.shift(); pointer !== undefined; pointer = queue.shift()) {
    if (seen.has(pointer)) continue;
    seen.add(pointer);
    const def = convertDef(ctx, pointer);
    defs[def.name] = def.schema;
    for (const next of def.refs) if (!seen.has(next)) queue.push(next);
  }
  return defs;
}

function convertDef(ctx: ImportContext, pointer: string): ConvertedDef {
  const known = ctx.defs.get(pointer);
  if (known !== undefined) return known;
  const target = resolvePointer(ctx, pointer);
  if (target === undefined) throw new ImportIssue(`unresolvable $ref ${pointer}`);
  const refs = new Set<string>();
  const schema = transformSchemaObject(ctx, target, refs);
  const def: ConvertedDef = { name: defNameOf(ctx, pointer), schema, refs };
  ctx.defs.set(pointer, def);
  return def;
}

function referenceDef(ctx: ImportContext, ref: string, refs: Set<string>): { $ref: string } {
  if (!ref.startsWith('#/')) throw new ImportIssue(`unsupported $ref ${ref} (only local references are followed)`);
  refs.add(ref);
  return { $ref: `#/$defs/${defNameOf(ctx, ref)}` };
}

function defNameOf(ctx: ImportContext, pointer: string): string {
  const known = ctx.defNames.get(pointer);
  if (known !== undefined) return known;
  const match = /^#\/(?:components\/schemas|definitions)\/([^/]+)$/.exec(pointer);
  const raw = match?.[1] ?? pointer.slice(2).replaceAll('/', '_');
  const base = raw.replace(/[^A-Za-z0-9_.-]+/g, '_') || 'schema';
  let name = base;
  for (let n = 2; ctx.usedDefNames.has(name); n++) name = `${base}_${n}`;
  ctx.usedDefNames.add(name);
  ctx.defNames.set(pointer, name);
  return name;
}

function convertType(source: Record<string, unknown>, out: Record<string, unknown>): void {
  const type = source['type'];
  if (type === 'file') {
    out['type'] = 'string';
    out['format'] = 'binary';
  } else if (typeof type === 'string' && jsonTypes.has(type)) out['type'] = type;
  else if (Array.isArray(type)) {
    const types = [...new Set(type.filter((t) => typeof t === 'string' && jsonTypes.has(t)))];
    if (types.length > 0) out['type'] = types;
  }
}

function convertExclusive(
  source: Record<string, unknown>,
  out: Record<string, unknown>,
  keyword: 'exclusiveMinimum' | 'exclusiveMaximum',
  bound: 'minimum' | 'maximum',
): void {
  const value = source[keyword];
  if (typeof value === 'number') out[keyword] = value;
  else if (value === true && typeof out[bound] === 'number') {
    out[keyword] = out[bound];
    delete out[bound];
  }
}

function isReadOnly(ctx: ImportContext, schema: unknown): boolean {
  let record = asRecord(schema);
  if (record?.['readOnly'] === true) return true;
  const ref = record?.['$ref'];
  if (typeof ref !== 'string') return false;
  record = asRecord(resolvePointer(ctx, ref));
  return record?.['readOnly'] === true;
}

function dropRemovedRequired(source: Record<string, unknown>, out: Record<string, unknown>): void {
  const properties = asRecord(out['properties']);
  const required = out['required'] as string[] | undefined;
  if (properties === undefined || required === undefined) return;
  const sourceProperties = asRecord(source['properties']) ?? {};
  const kept = required.filter((name) => !Object.hasOwn(sourceProperties, name) || Object.hasOwn(properties, name));
  if (kept.length === 0) delete out['required'];
  else if (kept.length !== required.length) out['required'] = kept;
}

function applyNullable(
  source: Record<string, unknown>,
  out: Record<string, unknown>,
  ctx: ImportContext,
): JsonSchema | boolean {
  const nullable = ctx.dialect === '2.0' ? source['x-nullable'] === true : source['nullable'] === true;
  if (!nullable || ctx.dialect === '3.1') return out;
  const enumValues = out['enum'] as unknown[] | undefined;
  if (enumValues !== undefined && !enumValues.includes(null)) out['enum'] = [...enumValues, null];
  const type = out['type'];
  if (typeof type === 'string') out['type'] = [type, 'null'];
  else if (Array.isArray(type)) {
    if (!type.includes('null')) out['type'] = [...type, 'null'];
  } else if (enumValues === undefined) return { anyOf: [out, { type: 'null' }] };
  return out;
}

const patternValidity = new Map<string, boolean>();

function isValidPattern(pattern: string): boolean {
  let valid = patternValidity.get(pattern);
  if (valid === undefined) {
    try {
      new RegExp(pattern, 'u');
      valid = true;
    } catch {
      valid = false;
    }
    if (patternValidity.size < 10_000) patternValidity.set(pattern, valid);
  }
  return valid;
}
