import type {
  JsonSchema,
  Tool,
  ToolAnnotations,
  ToolParameter,
  ToolRequestBody,
  ToolSafety,
} from '../../core/index.ts';
import { cleanDescription } from '../clean-description.ts';
import { type ImportContext, ImportIssue } from './import-context.ts';
import type { OperationSource, SourceParameter } from './operation-source.ts';
import { toOutputSchema } from './output-schema.ts';
import { parameterLocations } from './parameter-object.ts';
import { collectDefs, transformSchemaObject } from './schema-object.ts';
import { transformSecurityRequirements } from './security-requirement-object.ts';

/** Cap on a tool description (characters), ellipsis included. */
export const toolDescriptionMax = 1000;
const parameterDescriptionMax = 300;
const bodyArgument = 'body';

/**
 * Operation (internal form) -> Tool. The input schema is one JSON Schema 2020-12 object: a property per
 * parameter (named after it, or `{in}_{name}` when two locations share a name), `body` for the request body,
 * and `$defs` holding exactly the component schemas it reaches. Safety and annotations come from the method,
 * raised by the description, lowered only by a curated pack's (see `safetyOf`). Throws an ImportIssue when the operation cannot become a callable tool.
 */
export function transformOperationObject(ctx: ImportContext, source: OperationSource, key: string): Tool {
  checkPathTemplate(source);
  const refs = new Set<string>();
  const properties: Record<string, JsonSchema | boolean> = {};
  const required: string[] = [];
  const parameters: ToolParameter[] = [];
  const argumentOf = assignArguments(source);
  for (const parameter of source.parameters) {
    const argument = argumentOf.get(parameter) as string;
    properties[argument] = describe(
      transformSchemaObject(ctx, parameter.schema, refs),
      parameter.description,
      parameterDescriptionMax,
    );
    if (parameter.required) required.push(argument);
    parameters.push(
      Object.freeze({
        name: parameter.name,
        argument,
        in: parameter.in,
        required: parameter.required,
        style: parameter.style,
        explode: parameter.explode,
        allowReserved: parameter.allowReserved,
      }),
    );
  }
  let body: ToolRequestBody | undefined;
  if (source.body !== undefined) {
    properties[bodyArgument] = describe(
      transformSchemaObject(ctx, source.body.schema, refs),
      source.body.description,
      parameterDescriptionMax,
    );
    if (source.body.required) required.push(bodyArgument);
    body = Object.freeze({ argument: bodyArgument, mediaType: source.body.mediaType, required: source.body.required });
  }
  const inputSchema: Record<string, unknown> = { type: 'object', properties, additionalProperties: false };
  if (required.length > 0) inputSchema['required'] = required;
  const defs = collectDefs(ctx, refs);
  if (defs !== undefined) inputSchema['$defs'] = defs;
  const safety = safetyOf(source.method, source.declaredSafety, ctx.trustSafetyMarks);
  const output = toOutputSchema(ctx, source.successSchema);
  return Object.freeze({
    key,
    operation: source.operationId ?? `${source.method} ${source.path}`,
    title: titleOf(source, key),
    description: descriptionOf(source),
    inputSchema: Object.freeze(inputSchema),
    ...(output === undefined ? {} : { outputSchema: output.schema, outputWrapped: output.wrapped }),
    annotations: annotationsOf(source.method, safety),
    safety,
    scopes: Object.freeze(transformSecurityRequirements(ctx, source.security).map((list) => Object.freeze(list))),
    tags: Object.freeze([...source.tags]),
    request: Object.freeze({
      method: source.method,
      pathTemplate: source.path,
      parameters: Object.freeze(parameters),
      ...(body === undefined ? {} : { body }),
    }),
  });
}

function checkPathTemplate(source: OperationSource): void {
  for (const match of source.path.matchAll(/\{([^}]+)\}/g)) {
    const name = match[1];
    if (!source.parameters.some((parameter) => parameter.in === 'path' && parameter.name === name)) {
      throw new ImportIssue(`path parameter {${name}} is not described`);
    }
  }
}

/** Argument names: the parameter name, unless another location (earlier in path, query, header, cookie) has it. */
function assignArguments(source: OperationSource): Map<SourceParameter, string> {
  const ordered = [...source.parameters].sort(
    (a, b) => parameterLocations.indexOf(a.in) - parameterLocations.indexOf(b.in),
  );
  const taken = new Set<string>(source.body === undefined ? [] : [bodyArgument]);
  const result = new Map<SourceParameter, string>();
  for (const parameter of ordered) {
    let argument = taken.has(parameter.name) ? `${parameter.in}_${parameter.name}` : parameter.name;
    for (let n = 2; taken.has(argument); n++) argument = `${parameter.in}_${parameter.name}_${n}`;
    taken.add(argument);
    result.set(parameter, argument);
  }
  return result;
}

function describe(schema: JsonSchema | boolean, description: string | undefined, max: number): JsonSchema {
  const base: JsonSchema = typeof schema === 'boolean' ? (schema ? {} : { not: {} }) : schema;
  if (description === undefined || description.trim() === '' || base['description'] !== undefined) return base;
  return { ...base, description: cleanDescription(description, max) };
}

const strictness: Readonly<Record<ToolSafety, number>> = { safe: 0, write: 1, destructive: 2 };

/**
 * Safety from the method (GET/HEAD/OPTIONS safe, DELETE destructive, others write), raised, never lowered, by the
 * operation's `x-gatehouse-safety`: a POST that deletes (Slack `chat.delete`) must wait for approval like a
 * DELETE, while a description cannot make a write look safe (a toolset's `safety` does that, by the operator).
 * With `trusted` (a curated pack of ours) `safe` is honoured too: a POST that only reads (Google Calendar freeBusy).
 */
function safetyOf(method: string, declared: unknown, trusted: boolean): ToolSafety {
  const byMethod: ToolSafety =
    method === 'GET' || method === 'HEAD' || method === 'OPTIONS'
      ? 'safe'
      : method === 'DELETE'
        ? 'destructive'
        : 'write';
  if ((declared === 'write' || declared === 'destructive') && strictness[declared] > strictness[byMethod])
    return declared;
  if (trusted && declared === 'safe' && byMethod === 'write') return 'safe';
  return byMethod;
}

function annotationsOf(method: string, safety: ToolSafety): ToolAnnotations {
  return Object.freeze({
    readOnlyHint: safety === 'safe',
    destructiveHint: safety === 'destructive',
    idempotentHint: safety === 'safe' || method === 'PUT' || method === 'DELETE',
    openWorldHint: true,
  });
}

function titleOf(source: OperationSource, key: string): string {
  if (source.summary !== undefined) {
    const line = cleanDescription(source.summary, 120).split('\n')[0]?.trim();
    if (line) return line;
  }
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[_\-\s]+/)
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function descriptionOf(source: OperationSource): string {
  const summary = source.summary?.trim();
  const detail = source.description?.trim();
  const parts = [summary, detail !== undefined && detail !== summary ? detail : undefined].filter(
    (part): part is string => part !== undefined && part !== '',
  );
  let returns = '';
  if (source.successDescription !== undefined) {
    const line = cleanDescription(source.successDescription, 160).split('\n')[0] ?? '';
    if (line !== '') returns = `Returns: ${line}`;
  }
  const room = toolDescriptionMax - (returns === '' ? 0 : returns.length + 2);
  const text = cleanDescription(parts.join('\n\n'), room);
  return [text, returns].filter((part) => part !== '').join('\n\n');
}
