import { type JSONValue, search } from '@jmespath-community/jmespath';
import { GatehouseError } from '../core/index.ts';
import { type ShapedResult, type ShapingContext, shapeJsonValue } from './shape-tool-result.ts';

const expressionMax = 2_000;

/**
 * `gatehouse_result_query`: evaluates a JMESPath expression over a stored JSON result of the caller. The answer
 * respects the budget like any result: over budget, it becomes a new handle with its own summary.
 * Throws `not_found` for an unknown, expired or foreign handle and `invalid_arguments` for a bad expression.
 */
export async function queryResult(
  args: { readonly handle: string; readonly expression: string },
  context: ShapingContext & { readonly handles: NonNullable<ShapingContext['handles']> },
): Promise<ShapedResult> {
  const loaded = await context.handles.load(context.owner, args.handle);
  if (loaded.kind !== 'json') {
    throw new GatehouseError('invalid_arguments', 'This result is text, not JSON; use gatehouse_result_page', {
      handle: args.handle,
    });
  }
  if (args.expression.length > expressionMax) {
    throw new GatehouseError('invalid_arguments', `The expression is longer than ${expressionMax} characters`, {
      argument: 'expression',
    });
  }
  let value: unknown;
  try {
    value = search(loaded.value as JSONValue, args.expression);
  } catch (error) {
    throw new GatehouseError(
      'invalid_arguments',
      `Invalid JMESPath expression: ${String((error as Error).message).slice(0, 200)}`,
      { argument: 'expression' },
    );
  }
  return shapeJsonValue(value ?? null, context);
}
