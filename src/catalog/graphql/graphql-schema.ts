import {
  buildASTSchema,
  buildClientSchema,
  type DocumentNode,
  type GraphQLArgument,
  GraphQLError,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  GraphQLNonNull,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type GraphQLType,
  getLocation,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  Source,
  visit,
} from 'graphql';
import { type Catalog, GatehouseError, type ImportProblem, type JsonSchema, type Tool } from '../../core/index.ts';
import { cleanDescription } from '../clean-description.ts';
import { toolDescriptionMax } from '../openapi/operation-object.ts';
import { outputListedLevels, outputMaxProperties, toRootOutputSchema } from '../openapi/output-schema.ts';

/** Default depth of generated selection sets: the result's scalars and those of each object it links to. */
export const defaultSelectionDepth = 2;
/** At most this many leaf fields are selected per object, and this many fields per tool overall. */
const leafFieldsPerObject = 40;
const fieldsPerTool = 400;
const schemaDescriptionMax = 200;
const builtInScalars: Readonly<Record<string, JsonSchema>> = {
  Int: { type: 'integer' },
  Float: { type: 'number' },
  String: { type: 'string' },
  Boolean: { type: 'boolean' },
  ID: { type: 'string' },
};

/**
 * A GraphQL schema -> Catalog: each field of the Query type is a read tool, each field of the Mutation type a write
 * tool (`@deprecated` fields are skipped). The input schema has a property per argument (non-null without a default
 * = required; input objects in `$defs`; enums as their names; lists as arrays; custom scalars as strings, noted).
 * The request is a `POST` of `{ query, variables }` to the service's endpoint (its base URL), with a selection set
 * generated to `selectionDepth` levels (the result's leaf fields; at each further level the leaf fields of the
 * objects it links to; connections as `totalCount`, `pageInfo` and `nodes`; fields needing arguments left out).
 *
 * `text` is SDL, or introspection JSON (`{ data: { __schema } }` or `{ __schema }`). Throws `description_invalid`
 * naming `source` and the line and column for a syntax error or a reference to an unknown type.
 */
export function transformGraphqlSchema(
  text: string,
  source: string,
  id: string,
  selectionDepth = defaultSelectionDepth,
): Catalog {
  const schema = buildSchemaFrom(text, source);
  const tools: Tool[] = [];
  const problems: ImportProblem[] = [];
  const usedKeys = new Set<string>();
  for (const [operationType, root] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const) {
    if (root === undefined || root === null) continue;
    for (const field of Object.values(root.getFields())) {
      if (field.deprecationReason !== undefined && field.deprecationReason !== null) continue;
      let key = field.name;
      for (let n = 2; usedKeys.has(key); n++) key = `${field.name}_${n}`;
      usedKeys.add(key);
      try {
        tools.push(toTool(schema, field, operationType, key, selectionDepth));
      } catch (error) {
        if (!(error instanceof GraphQLImportIssue)) throw error;
        problems.push(Object.freeze({ at: `${root.name}.${field.name}`, reason: error.message }));
      }
    }
  }
  if (tools.length === 0 && problems.length === 0) {
    throw new GatehouseError('description_invalid', `GraphQL schema ${source} has no Query or Mutation fields`, {
      source,
    });
  }
  return Object.freeze({
    id,
    format: 'graphql',
    title: schema.description ?? 'GraphQL schema',
    baseUrl: undefined,
    tools: Object.freeze(tools),
    problems: Object.freeze(problems),
  });
}

class GraphQLImportIssue extends Error {
  override readonly name = 'GraphQLImportIssue';
}

function buildSchemaFrom(text: string, source: string): GraphQLSchema {
  const start = text.trimStart();
  if (start.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(start);
    } catch {
      throw invalid(source, 'is neither GraphQL SDL nor introspection JSON');
    }
    const record = json as { data?: unknown; __schema?: unknown } | null;
    const introspection = (record?.data ?? record) as { __schema?: unknown } | null;
    if (typeof introspection?.__schema !== 'object' || introspection.__schema === null) {
      throw invalid(source, 'is JSON without an introspection result (`__schema`)');
    }
    try {
      return buildClientSchema(introspection as never, { assumeValid: true });
    } catch (error) {
      throw invalid(source, `is not a valid introspection result: ${(error as Error).message}`);
    }
  }
  const body = new Source(text, source);
  let document: DocumentNode;
  try {
    document = parse(body);
  } catch (error) {
    throw invalid(source, located(error));
  }
  try {
    // The SDL is not validated as a whole (a second pass as slow as parsing); what building needs is checked by it.
    return buildASTSchema(document, { assumeValidSDL: true });
  } catch (error) {
    const unknown = /Unknown type:? "([^"]+)"/.exec((error as Error).message)?.[1];
    if (unknown !== undefined) {
      throw invalid(source, `refers to an unknown type ${unknown}${whereNamed(document, body, unknown)}`);
    }
    throw invalid(source, `cannot be built: ${(error as Error).message}`);
  }
}

function located(error: unknown): string {
  if (error instanceof GraphQLError && error.locations?.[0] !== undefined) {
    const { line, column } = error.locations[0];
    return `has a syntax error at line ${line}, column ${column}: ${error.message.replace(/^Syntax Error: /, '')}`;
  }
  return `cannot be parsed: ${(error as Error).message}`;
}

function whereNamed(document: DocumentNode, body: Source, name: string): string {
  let at = '';
  visit(document, {
    NamedType(node) {
      if (at !== '' || node.name.value !== name || node.loc === undefined) return;
      const { line, column } = getLocation(body, node.loc.start);
      at = ` at line ${line}, column ${column}`;
    },
  });
  return at;
}

function invalid(source: string, what: string): GatehouseError {
  return new GatehouseError('description_invalid', `GraphQL schema ${source} ${what}`, { source });
}

function toTool(
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  operationType: 'query' | 'mutation',
  key: string,
  selectionDepth: number,
): Tool {
  const defs: Record<string, JsonSchema> = {};
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const variables: string[] = [];
  const args = field.args.filter((arg) => arg.deprecationReason === undefined || arg.deprecationReason === null);
  for (const arg of args) {
    properties[arg.name] = describe(toInputSchema(arg.type, defs), arg.description);
    if (isNonNullType(arg.type) && arg.defaultValue === undefined) required.push(arg.name);
    variables.push(arg.name);
  }
  const inputSchema: Record<string, unknown> = { type: 'object', properties, additionalProperties: false };
  if (required.length > 0) inputSchema['required'] = required;
  if (Object.keys(defs).length > 0) inputSchema['$defs'] = defs;
  const budget = { fields: fieldsPerTool };
  const selection = selectionOf(field.type, selectionDepth, budget);
  const header = args.length === 0 ? '' : `(${args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ')})`;
  const call = args.length === 0 ? '' : `(${args.map((arg) => `${arg.name}: $${arg.name}`).join(', ')})`;
  const document = `${operationType} ${upperFirst(field.name)}${header} { ${field.name}${call}${selection} }`;
  const safe = operationType === 'query';
  const returns = `Returns: ${String(field.type)}`;
  const text = field.description ? cleanDescription(field.description, toolDescriptionMax - returns.length - 2) : '';
  // An object answer is declared as an object root (a `null` answer is then a mismatch, still delivered as text).
  const objectRoot = !isNonNullType(field.type) && !isListType(field.type) && !isLeafType(field.type);
  const rootType = objectRoot ? new GraphQLNonNull(field.type) : field.type;
  const output = toRootOutputSchema(outputSchemaOf(schema, rootType, selectionOfRoot(document), 0));
  return Object.freeze({
    key,
    operation: `${operationType}.${field.name}`,
    title: titleOf(field),
    description: [text, returns].filter((part) => part !== '').join('\n\n'),
    inputSchema: Object.freeze(inputSchema),
    annotations: Object.freeze({
      readOnlyHint: safe,
      destructiveHint: false,
      idempotentHint: safe,
      openWorldHint: true,
    }),
    ...(output === undefined ? {} : { outputSchema: output.schema, outputWrapped: output.wrapped }),
    safety: safe ? 'safe' : 'write',
    scopes: Object.freeze([]),
    tags: Object.freeze([]),
    request: Object.freeze({
      method: 'POST',
      pathTemplate: '',
      parameters: Object.freeze([]),
      graphql: Object.freeze({ document, field: field.name, variables: Object.freeze(variables) }),
    }),
  });
}

/** The selection set of the generated document's one root field (what the answer's `data[field]` holds). */
function selectionOfRoot(document: string): SelectionSetNode | undefined {
  const operation = parse(document, { noLocation: true }).definitions[0] as OperationDefinitionNode;
  const root = operation.selectionSet.selections[0];
  return root?.kind === Kind.FIELD ? root.selectionSet : undefined;
}

/**
 * The compact output schema (docs/configuration.md, "Structured output") of a value of `type` answered to
 * `selection`: only the fields the generated selection asks for (under their response names), two object levels,
 * at most 20 properties each; a nullable type admits `null`; custom scalars admit anything; a union or interface
 * lists the fields its fragments select (each may be absent).
 */
function outputSchemaOf(
  schema: GraphQLSchema,
  type: GraphQLOutputType,
  selection: SelectionSetNode | undefined,
  level: number,
): JsonSchema {
  const nullable = !isNonNullType(type);
  const inner = isNonNullType(type) ? type.ofType : type;
  let out: Record<string, unknown>;
  if (isListType(inner)) {
    const items = outputSchemaOf(schema, inner.ofType as GraphQLOutputType, selection, level);
    out = { type: 'array', ...(Object.keys(items).length > 0 ? { items } : {}) };
  } else if (isScalarType(inner)) {
    const builtIn = builtInScalars[inner.name];
    if (builtIn === undefined) return {};
    out = { type: builtIn['type'] };
  } else if (isEnumType(inner)) {
    out = { type: 'string' };
  } else {
    out = { type: 'object' };
    const properties = level < outputListedLevels ? selectedProperties(schema, inner, selection, level) : {};
    if (Object.keys(properties).length > 0) out['properties'] = properties;
  }
  return nullable ? { ...out, type: [out['type'], 'null'] } : out;
}

function selectedProperties(
  schema: GraphQLSchema,
  parent: GraphQLNamedType,
  selection: SelectionSetNode | undefined,
  level: number,
): Record<string, JsonSchema> {
  const properties: Record<string, JsonSchema> = {};
  for (const node of selection?.selections ?? []) {
    if (Object.keys(properties).length >= outputMaxProperties) break;
    if (node.kind === Kind.INLINE_FRAGMENT) {
      const member = node.typeCondition === undefined ? parent : schema.getType(node.typeCondition.name.value);
      if (member === undefined || member === null) continue;
      for (const [name, sub] of Object.entries(selectedProperties(schema, member, node.selectionSet, level))) {
        if (Object.keys(properties).length >= outputMaxProperties) break;
        properties[name] ??= sub;
      }
      continue;
    }
    if (node.kind !== Kind.FIELD) continue;
    const responseName = node.alias?.value ?? node.name.value;
    if (node.name.value === '__typename') {
      properties[responseName] = { type: 'string' };
      continue;
    }
    const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[node.name.value] : undefined;
    if (field !== undefined)
      properties[responseName] = outputSchemaOf(schema, field.type, node.selectionSet, level + 1);
  }
  return properties;
}

function toInputSchema(type: GraphQLInputType, defs: Record<string, JsonSchema>): JsonSchema {
  if (isNonNullType(type)) return toInputSchema(type.ofType, defs);
  if (isListType(type)) return { type: 'array', items: toInputSchema(type.ofType as GraphQLInputType, defs) };
  if (isEnumType(type)) {
    const current = type.getValues().filter((v) => v.deprecationReason === undefined || v.deprecationReason === null);
    return { type: 'string', enum: (current.length > 0 ? current : type.getValues()).map((v) => v.name) };
  }
  if (isScalarType(type)) {
    const builtIn = builtInScalars[type.name];
    if (builtIn !== undefined) return builtIn;
    return {
      type: 'string',
      description: cleanDescription(
        `${type.name} (custom scalar, as a string)${type.description ? `: ${type.description}` : ''}`,
        schemaDescriptionMax,
      ),
    };
  }
  if (isInputObjectType(type)) {
    if (defs[type.name] === undefined) {
      const properties: Record<string, JsonSchema> = {};
      defs[type.name] = { type: 'object', properties }; // placed first: recursive input types refer to it
      const required: string[] = [];
      for (const field of Object.values(type.getFields())) {
        if (field.deprecationReason !== undefined && field.deprecationReason !== null) continue;
        properties[field.name] = describe(toInputSchema(field.type, defs), field.description);
        if (isNonNullType(field.type) && field.defaultValue === undefined) required.push(field.name);
      }
      const def: Record<string, unknown> = { type: 'object', properties, additionalProperties: false };
      if (required.length > 0) def['required'] = required;
      if (type.description) def['description'] = cleanDescription(type.description, schemaDescriptionMax);
      defs[type.name] = def;
    }
    return { $ref: `#/$defs/${type.name}` };
  }
  throw new GraphQLImportIssue(`argument type ${String(type)} is not an input type`);
}

/**
 * The selection set of a field's type (empty for leaf types): leaf fields first, then, while `depth` allows,
 * objects it links to. A connection (`nodes` + `pageInfo`) is selected as `totalCount`, `pageInfo` and `nodes`.
 */
function selectionOf(type: GraphQLType, depth: number, budget: { fields: number }): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  const inner = selectFields(named, depth, budget);
  return ` { ${inner} }`;
}

function selectFields(named: GraphQLNamedType, depth: number, budget: { fields: number }): string {
  if (isUnionType(named)) {
    const parts = ['__typename'];
    if (depth > 1) {
      // Fragments on different members may not select one response name with different types (`String` vs
      // `String!`): such a field is selected only from the first member that has it.
      const typeOf = new Map<string, string>();
      for (const member of named.getTypes()) {
        const leaves = leafFields(member, budget, typeOf);
        if (leaves.length > 0) parts.push(`... on ${member.name} { ${leaves.join(' ')} }`);
      }
    }
    return parts.join(' ');
  }
  if (!isObjectType(named) && !isInterfaceType(named)) return '__typename';
  const fields = named.getFields();
  if (fields['nodes'] !== undefined && fields['pageInfo'] !== undefined) {
    const parts: string[] = [];
    if (fields['totalCount'] !== undefined && isLeafType(getNamedType(fields['totalCount'].type)))
      parts.push('totalCount');
    parts.push('pageInfo { hasNextPage endCursor }');
    // The connection wrapper is not a level of its own: `nodes` are the objects asked for.
    parts.push(`nodes { ${selectFields(getNamedType(fields['nodes'].type), depth, budget)} }`);
    return parts.join(' ');
  }
  const parts = leafFields(named, budget);
  if (depth > 1) {
    for (const field of Object.values(fields)) {
      if (budget.fields <= 0) break;
      if (!selectable(field) || isLeafType(getNamedType(field.type))) continue;
      const target = getNamedType(field.type);
      // Connections below the top level need paging arguments (many servers insist on `first`): left out.
      if (isObjectType(target) && target.getFields()['pageInfo'] !== undefined) continue;
      const inner = selectFields(target, depth - 1, budget);
      if (inner !== '' && inner !== '__typename') parts.push(`${field.name} { ${inner} }`);
    }
  }
  return parts.length > 0 ? parts.join(' ') : '__typename';
}

function leafFields(
  type: GraphQLObjectType | GraphQLNamedType,
  budget: { fields: number },
  typeOf?: Map<string, string>,
): string[] {
  if (!isObjectType(type) && !isInterfaceType(type)) return [];
  const out: string[] = [];
  for (const field of Object.values(type.getFields())) {
    if (out.length >= leafFieldsPerObject || budget.fields <= 0) break;
    if (!selectable(field) || !isLeafType(getNamedType(field.type))) continue;
    if (typeOf !== undefined) {
      const known = typeOf.get(field.name);
      if (known !== undefined && known !== String(field.type)) continue;
      typeOf.set(field.name, String(field.type));
    }
    out.push(field.name);
    budget.fields--;
  }
  return out;
}

/** A field the generated selection can name: not deprecated, and needing no argument. */
function selectable(field: GraphQLField<unknown, unknown>): boolean {
  if (field.deprecationReason !== undefined && field.deprecationReason !== null) return false;
  return field.args.every((arg: GraphQLArgument) => !isNonNullType(arg.type) || arg.defaultValue !== undefined);
}

function describe(schema: JsonSchema, description: string | null | undefined): JsonSchema {
  if (!description || schema['description'] !== undefined || schema['$ref'] !== undefined) return schema;
  return { ...schema, description: cleanDescription(description, schemaDescriptionMax) };
}

function titleOf(field: GraphQLField<unknown, unknown>): string {
  const line = field.description ? cleanDescription(field.description, 120).split('\n')[0]?.trim() : undefined;
  if (line) return line;
  const words = field.name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function upperFirst(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
