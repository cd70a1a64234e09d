import { countTokens } from './count-tokens.ts';
import type { ShapedResult } from './shape-tool-result.ts';

/**
 * Adds the `_nextPage` hint to a delivered result: in `structuredContent`, and in the text (inside the JSON
 * object when the text is one, else on a line of its own), with a sentence telling the model how to use it.
 */
export function attachNextPage(result: ShapedResult, next: Readonly<Record<string, unknown>>): ShapedResult {
  const hint = JSON.stringify(next);
  const structuredContent = { ...(result.structuredContent ?? {}), _nextPage: next };
  const text =
    result.text.startsWith('{') && result.text.endsWith('}') && result.text.length > 2
      ? `${result.text.slice(0, -1)},"_nextPage":${hint}}`
      : `${result.text}\n_nextPage: ${hint}`;
  const added = countTokens(hint) + 6;
  const { structuredJson: _stale, ...rest } = result as ShapedResult & { structuredJson?: string };
  return { ...rest, structuredContent, text, tokens: result.tokens + added };
}

/** One line for tool descriptions and summaries: how `_nextPage` is meant to be used. */
export const nextPageUsage =
  'When a result has `_nextPage`, call the same tool again with the same arguments plus the fields of `_nextPage` to get the next page.';
