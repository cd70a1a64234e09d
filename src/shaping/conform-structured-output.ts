import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { checkedSchemaOf, type JsonSchema, type Tool } from '../core/index.ts';
import type { ShapedResult } from './shape-tool-result.ts';
import type { ToolResult } from './to-tool-result.ts';

/**
 * One Ajv instance for the process. Output schemas hold only `type`, `properties` and `items` (no formats), so no
 * format plugin; each is compiled once, on first use, and shared by every tenant and toolset whose tool declares it
 * (tools, and so their schemas, are shared per catalogue).
 */
const ajv = new Ajv2020({ strict: false, allErrors: false, coerceTypes: false, useDefaults: false });
const validators = new WeakMap<JsonSchema, ValidateFunction>();

/**
 * Whether a result, before budgets and handles, is what the tool's `outputSchema` declares: a JSON answer of the
 * declared kind (an object; or, for a `wrapped` schema, an array or scalar delivered as `{ result }`) whose
 * `structuredContent` validates. A text or empty answer never matches.
 */
export function matchesOutputSchema(
  tool: Pick<Tool, 'outputSchema' | 'outputWrapped'> & { readonly request?: Pick<Tool['request'], 'mcp'> },
  result: ToolResult,
): boolean {
  const { outputSchema } = tool;
  const structured = result.structuredContent;
  if (outputSchema === undefined || structured === undefined) return false;
  const isObject = result.text.charCodeAt(0) === 123; /* { */
  if (tool.outputWrapped === true ? isObject || !Object.hasOwn(structured, 'result') : !isObject) return false;
  return validatorOf(checkedSchemaOf(tool, outputSchema))(structured);
}

/**
 * The result as a tool with an output schema delivers it. A result that matched (`matchesOutputSchema`) and is
 * delivered whole goes as it is (a `_nextPage` hint included: the schema never declares it and allows extra
 * members). Otherwise `structuredContent` takes a form every output schema admits (no root member is required and
 * `_gatehouse`, like `_nextPage`, is never declared), so an SDK client never refuses the call; the text is
 * unchanged and carries the answer (or its summary):
 * - over the budget (a handle): the summary as always (`handle`, `preview` ...) plus `_gatehouse: { reason:
 *   'over_budget' }`; when a summary member collides with a declared property of another type, the summary moves
 *   to `_gatehouse.summary`;
 * - `unmatched`: `{ _gatehouse: { reason, note } }` (the call's audit record notes it).
 */
export function conformToOutput(
  tool: Pick<Tool, 'outputSchema'> & { readonly request?: Pick<Tool['request'], 'mcp'> },
  result: ShapedResult,
  matched: boolean,
): ShapedResult {
  if (matched && result.handle === undefined) return result;
  const { structuredJson: _stale, ...rest } = result;
  if (result.handle !== undefined) {
    const marked = { ...result.structuredContent, _gatehouse: { reason: 'over_budget' } };
    if (tool.outputSchema !== undefined && validatorOf(checkedSchemaOf(tool, tool.outputSchema))(marked)) {
      return { ...rest, structuredContent: marked };
    }
  }
  const next = result.structuredContent?.['_nextPage'];
  const note =
    result.handle !== undefined
      ? { reason: 'over_budget', summary: withoutNextPage(result.structuredContent) }
      : {
          reason: 'unmatched',
          note: 'The answer does not match the declared output schema; it is in the text content.',
        };
  return {
    ...rest,
    structuredContent: next === undefined ? { _gatehouse: note } : { _gatehouse: note, _nextPage: next },
  };
}

function withoutNextPage(
  structured: Readonly<Record<string, unknown>> | undefined,
): Readonly<Record<string, unknown>> | undefined {
  if (structured === undefined || !Object.hasOwn(structured, '_nextPage')) return structured;
  const { _nextPage: _hint, ...rest } = structured;
  return rest;
}

function validatorOf(schema: JsonSchema): ValidateFunction {
  let validate = validators.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema as object);
    validators.set(schema, validate);
  }
  return validate;
}
