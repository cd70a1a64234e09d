import { isPlainObject } from './is-plain-object.ts';
import type { JsonSchema, Tool } from './tool.ts';

/** Keywords whose value is one subschema, or (`items` of draft-07, `dependencies`) possibly an array or map of them. */
const oneSchema = [
  'items',
  'additionalItems',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
] as const;
const schemaArrays = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;
const schemaMaps = ['properties', '$defs', 'definitions', 'dependentSchemas'] as const;

const stripped = new WeakMap<object, JsonSchema>();

/**
 * A JSON Schema of an untrusted party (a remote MCP server's input or output schema) as the gateway validates with
 * it: without `pattern` and `patternProperties` anywhere in it. Ajv runs them with the backtracking `RegExp` on the
 * event loop, so a pattern such as `^(\w+\s?)*$` and an ordinary sentence that misses it held every tenant's requests
 * for minutes (finding federated_schema_pattern_redos). The server still checks its own patterns; an
 * `additionalProperties` or `unevaluatedProperties` next to a dropped `patternProperties` is dropped too, so the
 * names it admitted are not refused; a subschema nested more than 200 deep admits anything. Only keywords are touched (a property named `pattern` stays), never data
 * (`enum`, `const`, `default`, `examples`). The same schema gives the same copy.
 */
export function withoutPatterns(schema: JsonSchema): JsonSchema {
  let copy = stripped.get(schema);
  if (copy === undefined) {
    copy = strip(schema, 0) as JsonSchema;
    stripped.set(schema, copy);
  }
  return copy;
}

/**
 * The schema the gateway checks a tool's arguments or answers against: a remote MCP server's (untrusted: the server
 * wrote both the schema and its answers) without its patterns (`withoutPatterns`), any other tool's as it is.
 */
export function checkedSchemaOf(
  tool: { readonly request?: Pick<Tool['request'], 'mcp'> },
  schema: JsonSchema,
): JsonSchema {
  return tool.request?.mcp === undefined ? schema : withoutPatterns(schema);
}

function strip(schema: unknown, depth: number): unknown {
  if (!isPlainObject(schema)) return schema;
  // Deeper than any real schema: validated as anything (its patterns are not walked to, nor run).
  if (depth > 200) return {};
  const out: Record<string, unknown> = {};
  const dropsNames = 'patternProperties' in schema;
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'pattern' && typeof value === 'string') continue;
    if (key === 'patternProperties') continue;
    if (dropsNames && (key === 'additionalProperties' || key === 'unevaluatedProperties')) continue;
    if ((oneSchema as readonly string[]).includes(key)) {
      out[key] = Array.isArray(value) ? value.map((item) => strip(item, depth + 1)) : strip(value, depth + 1);
    } else if ((schemaArrays as readonly string[]).includes(key) && Array.isArray(value)) {
      out[key] = value.map((item) => strip(item, depth + 1));
    } else if (((schemaMaps as readonly string[]).includes(key) || key === 'dependencies') && isPlainObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, member]) => [
          name,
          Array.isArray(member) ? member : strip(member, depth + 1),
        ]),
      );
    } else out[key] = value;
  }
  return out;
}
