import { measureTokens } from './count-tokens.ts';
import type { ResultHandles, ResultOwner } from './create-result-handles.ts';
import { summarizeResult } from './summarize-result.ts';
import type { ToolResult } from './to-tool-result.ts';

/** What shaping needs to know about the call a result belongs to. */
export interface ShapingContext {
  /** Token budget of this result (the toolset's `resultBudget` or the tool's override). */
  readonly budget: number;
  readonly owner: ResultOwner;
  /** Absent when the toolset turned handles off: a result over budget is then delivered whole. */
  readonly handles: ResultHandles | undefined;
  /** Lifetime of a handle created here (the handles' default when absent). */
  readonly ttlMs?: number;
}

/** A tool result as delivered, with its size in tokens. */
export interface ShapedResult extends ToolResult {
  /** Tokens (o200k) of `text`, the part a client puts in the model's context. */
  readonly tokens: number;
  /** Tokens of the full result before shaping (estimated above 16 KB unless near the budget). */
  readonly fullTokens: number;
  /** Set when the result was stored and a summary delivered instead. */
  readonly handle?: string;
}

/** The summary of an over-budget result may take this share of the budget (never more than 1,900 tokens). */
const summaryShare = 0.8;

/**
 * Applies the response budget (DESIGN.md §8): a result within budget is delivered as it is, with its token
 * count; a larger one is stored as a handle bound to the caller, and the model gets a summary (shape, array
 * lengths, first items, the handle and how to query or page it). Nothing is truncated: the handle holds the
 * exact text.
 */
export async function shapeToolResult(result: ToolResult, context: ShapingContext): Promise<ShapedResult> {
  const measured = measureTokens(result.text, context.budget);
  if (measured.tokens <= context.budget || context.handles === undefined) {
    return { ...result, tokens: measured.tokens, fullTokens: measured.tokens };
  }
  const isJson = result.structuredContent !== undefined && isJsonText(result.text);
  const value = isJson ? toJsonValue(result) : undefined;
  const stored = await context.handles.create(
    context.owner,
    {
      kind: isJson ? 'json' : 'text',
      text: result.text,
      value,
    },
    context.ttlMs,
  );
  const summary = summarizeResult({
    handle: stored.id,
    expiresAt: stored.expiresAt,
    kind: isJson ? 'json' : 'text',
    text: result.text,
    value,
    tokens: measured.tokens,
    exact: measured.exact,
    maxTokens: Math.min(1_900, Math.floor(context.budget * summaryShare)),
  });
  return {
    structuredContent: summary.summary as unknown as Record<string, unknown>,
    text: summary.text,
    tokens: summary.tokens,
    fullTokens: measured.tokens,
    handle: stored.id,
  };
}

/** Delivers a value computed by a navigation tool: within budget as JSON, else as a new handle. */
export async function shapeJsonValue(value: unknown, context: ShapingContext): Promise<ShapedResult> {
  const text = JSON.stringify(value) ?? 'null';
  const structuredContent =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { result: value };
  return shapeToolResult({ structuredContent, text }, context);
}

/** The JSON value a result's text holds: `toToolResult` wraps non-objects as `{ result }`. */
function toJsonValue(result: ToolResult): unknown {
  return result.text.charCodeAt(0) === 123 /* { */ ? result.structuredContent : result.structuredContent?.['result'];
}

function isJsonText(text: string): boolean {
  const c = text.charCodeAt(0);
  // { [ " digit - t f n: anything else is a text rendering, not JSON.
  return c === 123 || c === 91 || c === 34 || c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110;
}
