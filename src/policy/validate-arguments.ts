import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { checkedSchemaOf, GatehouseError, type Tool } from '../core/index.ts';
import type { ArgumentConstraints } from './compile-argument-constraints.ts';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => void;

/** One Ajv instance for the process; schemas are compiled lazily, once per tool, and shared by all tenants. */
const ajv = new Ajv2020({
  strict: false,
  allErrors: true,
  coerceTypes: false,
  useDefaults: false,
  validateFormats: true,
});
addFormats(ajv);

const validators = new WeakMap<Tool, ValidateFunction>();
/** Stricter validators per (tool, constraint set), shared by every toolset and tenant with the same set. */
const constrained = new WeakMap<Tool, Map<string, ValidateFunction>>();

export type ArgumentProblem = { readonly argument: string; readonly problem: string };

/**
 * Validates tool arguments against the tool's input schema and, when given, a toolset's constraints on them
 * (compiled together once into one stricter validator). Throws `invalid_arguments` naming the tool as the model
 * knows it (`toolName`, e.g. `tasks_createTask`) and listing every failing argument by its path (`body.amount`,
 * `owner`); the message never quotes the argument values, only what the schema allows (enum values, bounds).
 */
export function validateArguments(
  tool: Tool,
  args: unknown,
  constraints?: ArgumentConstraints,
  toolName: string = tool.operation,
): Readonly<Record<string, unknown>> {
  const validate = constraints === undefined ? validatorOf(tool) : constrainedValidatorOf(tool, constraints);
  const value = args ?? {};
  if (validate(value)) return value as Readonly<Record<string, unknown>>;
  const problems = (validate.errors ?? []).slice(0, 20).map(toArgumentProblem);
  throw new GatehouseError(
    'invalid_arguments',
    `Invalid arguments for ${toolName}: ${problems.map((p) => `${p.argument || '(arguments)'} ${p.problem}`).join('; ')}`,
    { arguments: problems.map((p) => `${p.argument || '(arguments)'}: ${p.problem}`) },
  );
}

/**
 * The schema as this process's Ajv compiles it: without the root `$schema` (a remote MCP server's zod-made schemas
 * declare draft-07, which a 2020-12 Ajv refuses to compile; the keywords tools use mean the same) and without the
 * root `$id` (two tools with the same id would collide in the one Ajv instance). Listings keep both.
 */
function compilable(tool: Tool): Tool['inputSchema'] {
  // A remote MCP server's schema is untrusted: its patterns are not run here.
  const schema = checkedSchemaOf(tool, tool.inputSchema);
  if (!('$schema' in schema) && !('$id' in schema)) return schema;
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

function validatorOf(tool: Tool): ValidateFunction {
  let validate = validators.get(tool);
  if (validate === undefined) {
    validate = ajv.compile(compilable(tool));
    validators.set(tool, validate);
  }
  return validate;
}

function constrainedValidatorOf(tool: Tool, constraints: ArgumentConstraints): ValidateFunction {
  let byKey = constrained.get(tool);
  if (byKey === undefined) {
    byKey = new Map();
    constrained.set(tool, byKey);
  }
  let validate = byKey.get(constraints.key);
  if (validate === undefined) {
    // Merged at the root (not wrapped) so the tool schema's `#/$defs/...` references still resolve.
    const base = compilable(tool);
    const allOf = Array.isArray(base['allOf'])
      ? [...(base['allOf'] as unknown[]), constraints.schema]
      : [constraints.schema];
    validate = ajv.compile({ ...base, allOf });
    byKey.set(constraints.key, validate);
  }
  return validate;
}

function toArgumentProblem(error: ErrorObject): ArgumentProblem {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') path.push(String(error.params['missingProperty']));
  if (error.keyword === 'additionalProperties') path.push(String(error.params['additionalProperty']));
  const problem =
    error.keyword === 'required'
      ? 'is required'
      : error.keyword === 'additionalProperties'
        ? 'is not a known argument'
        : error.keyword === 'enum'
          ? `must be one of ${listAllowed(error.params['allowedValues'])}`
          : error.keyword === 'const'
            ? `must be ${JSON.stringify(error.params['allowedValue'])}`
            : (error.message ?? 'is invalid');
  return { argument: path.join('.'), problem };
}

/** The allowed values of an enum, as JSON, at most 20 of them (they come from the description, never a caller). */
function listAllowed(values: unknown): string {
  if (!Array.isArray(values)) return 'the allowed values';
  const shown = values.slice(0, 20).map((value) => JSON.stringify(value));
  return values.length > 20 ? `${shown.join(', ')} (and ${values.length - 20} more)` : shown.join(', ');
}
