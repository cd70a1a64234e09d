import { type ShapedResult, type ShapingContext, shapeJsonValue } from './shape-tool-result.ts';

/**
 * `gatehouse_result_query`: evaluates a JMESPath expression over a stored JSON result of the caller, in a
 * worker thread within the query budget (RS-02). The answer respects the result budget like any result: over
 * budget, it becomes a new handle with its own summary. Throws `not_found` for an unknown, expired or foreign
 * handle, `invalid_arguments` for a text result or a bad expression, `query_budget_exceeded` and `rate_limited`.
 */
export async function queryResult(
  args: { readonly handle: string; readonly expression: string },
  context: ShapingContext & { readonly handles: NonNullable<ShapingContext['handles']> },
): Promise<ShapedResult> {
  const answer = await context.handles.query(context.owner, args.handle, args.expression);
  return shapeJsonValue(answer.kind === 'value' ? (answer.value ?? null) : null, context);
}
