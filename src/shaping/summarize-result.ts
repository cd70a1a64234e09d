import { countTokens } from './count-tokens.ts';
import { describeJsonShape } from './describe-json-shape.ts';

/** What the model gets instead of a result over budget. */
export interface ResultSummary {
  readonly handle: string;
  readonly expiresAt: string;
  /** Size of the full result: characters, and tokens (o200k; `~` when estimated). */
  readonly size: { readonly chars: number; readonly tokens: number; readonly exact: boolean };
  readonly shape?: string;
  /** Arrays worth paging (JMESPath path, item count). */
  readonly arrays?: readonly { readonly path: string; readonly count: number }[];
  /** The value with arrays cut to their first items and long strings cut (JSON), or the text's beginning. */
  readonly preview: unknown;
  readonly note: string;
}

export interface SummaryInput {
  readonly handle: string;
  readonly expiresAt: number;
  readonly kind: 'json' | 'text';
  readonly text: string;
  readonly value: unknown;
  readonly tokens: number;
  readonly exact: boolean;
  /** Tokens the whole summary may take (default 1,900). */
  readonly maxTokens?: number;
}

/** Preview settings tried in order until the summary fits. */
const previewSteps = [
  { items: 5, chars: 200, depth: 6, keys: 40 },
  { items: 3, chars: 120, depth: 5, keys: 30 },
  { items: 2, chars: 80, depth: 4, keys: 20 },
  { items: 1, chars: 60, depth: 3, keys: 12 },
  { items: 1, chars: 40, depth: 2, keys: 8 },
] as const;

/**
 * Builds the compact summary of a stored result: its JSON shape (types, array lengths), the largest arrays,
 * the first items, the handle and how to navigate it, within `maxTokens` (exact count; several tries from
 * richer to leaner previews). Text results get their first characters instead of a shape.
 */
export function summarizeResult(input: SummaryInput): { summary: ResultSummary; text: string; tokens: number } {
  const maxTokens = input.maxTokens ?? 1_900;
  const base = {
    handle: input.handle,
    expiresAt: new Date(input.expiresAt).toISOString(),
    size: { chars: input.text.length, tokens: input.tokens, exact: input.exact },
  };
  let last: { summary: ResultSummary; text: string; tokens: number } | undefined;
  for (const step of previewSteps) {
    let summary: ResultSummary;
    if (input.kind === 'json') {
      const { shape, arrays } = describeJsonShape(input.value, { depth: step.depth, keys: step.keys });
      summary = {
        ...base,
        shape,
        arrays,
        preview: toPreview(input.value, step.items, step.chars, step.depth, step.keys),
        note: toJsonNote(input.handle, arrays[0]?.path, step.items, step.chars),
      };
    } else {
      summary = {
        ...base,
        preview: input.text.slice(0, step.items * 800),
        note: `The result is too large for the context: this is its beginning. Read the rest with gatehouse_result_page {"handle":"${input.handle}","offset":${Math.min(input.text.length, step.items * 800)}}.`,
      };
    }
    const text = JSON.stringify(summary);
    const tokens = countTokens(text);
    last = { summary, text, tokens };
    if (tokens <= maxTokens) return last;
  }
  // Still too large (very wide objects): drop the preview, keep shape and handle.
  const summary = { ...last!.summary, preview: null, shape: last!.summary.shape?.slice(0, 2_000) };
  const text = JSON.stringify(summary);
  return { summary, text, tokens: countTokens(text) };
}

function toJsonNote(handle: string, array: string | undefined, items: number, chars: number): string {
  const page =
    array === undefined
      ? `gatehouse_result_page {"handle":"${handle}","offset":0} reads the JSON text by character ranges`
      : `gatehouse_result_page {"handle":"${handle}","path":"${array.replaceAll('"', '\\"')}","offset":0} pages through an array`;
  return (
    `The result is too large for the context and is kept as a handle. preview shows arrays cut to ${items} item(s) ` +
    `and strings cut to ${chars} characters. Use gatehouse_result_query {"handle":"${handle}","expression":"<JMESPath>"} ` +
    `to select what you need (e.g. "items[?state=='open'].{id: id, title: title}", "length(items)"), or ${page}.`
  );
}

function toPreview(value: unknown, items: number, chars: number, depth: number, keys: number): unknown {
  if (typeof value === 'string') return value.length > chars ? `${value.slice(0, chars)}…` : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth <= 0) return Array.isArray(value) ? `Array(${value.length})` : '{…}';
  if (Array.isArray(value)) return value.slice(0, items).map((item) => toPreview(item, items, chars, depth - 1, keys));
  const out: Record<string, unknown> = {};
  let shown = 0;
  for (const key in value as Record<string, unknown>) {
    if (shown++ === keys) break;
    out[key] = toPreview((value as Record<string, unknown>)[key], items, chars, depth - 1, keys);
  }
  return out;
}
