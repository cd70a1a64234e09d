import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { GatehouseError, type Tool } from '../core/index.ts';

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

export type ArgumentProblem = { readonly argument: string; readonly problem: string };

/**
 * Validates tool arguments against the tool's input schema. Throws `invalid_arguments` listing every failing
 * argument by its path (`body.amount`, `owner`); the message never quotes the argument values.
 */
export function validateArguments(tool: Tool, args: unknown): Readonly<Record<string, unknown>> {
  let validate = validators.get(tool);
  if (validate === undefined) {
    validate = ajv.compile(tool.inputSchema);
    validators.set(tool, validate);
  }
  const value = args ?? {};
  if (validate(value)) return value as Readonly<Record<string, unknown>>;
  const problems = (validate.errors ?? []).slice(0, 20).map(toArgumentProblem);
  throw new GatehouseError(
    'invalid_arguments',
    `Invalid arguments for ${tool.operation}: ${problems.map((p) => `${p.argument || '(arguments)'} ${p.problem}`).join('; ')}`,
    { arguments: problems.map((p) => `${p.argument || '(arguments)'}: ${p.problem}`) },
  );
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
        : (error.message ?? 'is invalid');
  return { argument: path.join('.'), problem };
}
