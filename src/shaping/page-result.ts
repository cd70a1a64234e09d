import { GatehouseError } from '../core/index.ts';
import { countTokens, estimateTokens } from './count-tokens.ts';
import type { ShapedResult, ShapingContext } from './shape-tool-result.ts';

export interface PageArguments {
  readonly handle: string;
  /** JMESPath of an array in a JSON result; absent: page through the result's text by characters. */
  readonly path?: string;
  /** First item (array) or character (text), from 0. */
  readonly offset?: number;
  /** Items or characters wanted; capped so the answer fits the budget. */
  readonly limit?: number;
}

/** Most items one page can hold. */
const pageMax = 1_000;

/** Room kept in the budget for the page's own fields. */
const envelopeTokens = 120;

/**
 * `gatehouse_result_page`: one page of a stored result, always within the budget. With `path`, items
 * `[offset, offset + limit)` of the array there; without, characters `[offset, offset + limit)` of the exact
 * stored text, so that concatenating the `text` of every page from 0 to the end rebuilds the original byte
 * for byte. `nextOffset` is null on the last page.
 */
export async function pageResult(
  args: PageArguments,
  context: ShapingContext & { readonly handles: NonNullable<ShapingContext['handles']> },
): Promise<ShapedResult> {
  const offset = args.offset ?? 0;
  const room = Math.max(200, context.budget - envelopeTokens);
  if (args.path === undefined) {
    const loaded = await context.handles.load(context.owner, args.handle);
    const total = loaded.text.length;
    let length = Math.min(args.limit ?? total, total - Math.min(offset, total), room * 3);
    let chunk = loaded.text.slice(offset, offset + length);
    for (let i = 0; i < 5; i++) {
      const tokens = countTokens(JSON.stringify(chunk));
      if (tokens <= room) break;
      length = Math.floor(length * (room / tokens) * 0.95);
      chunk = loaded.text.slice(offset, offset + length);
    }
    // Never split a UTF-16 surrogate pair between two pages.
    const last = chunk.charCodeAt(chunk.length - 1);
    if (chunk.length > 1 && last >= 0xd800 && last <= 0xdbff) chunk = chunk.slice(0, -1);
    const end = Math.min(offset + chunk.length, total);
    return toPage({ handle: args.handle, offset, end, total, nextOffset: end < total ? end : null, text: chunk });
  }
  // The path runs in a query worker within the query budget (RS-02); only the items of this page come back.
  const wanted = Math.min(args.limit ?? pageMax, pageMax);
  const answer = await context.handles.query(context.owner, args.handle, args.path === '' ? '@' : args.path, {
    offset,
    limit: wanted,
  });
  if (answer.kind !== 'page') {
    throw new GatehouseError('invalid_arguments', `No array at ${args.path}`, { argument: 'path' });
  }
  const { items: candidates, total } = answer;
  const items: unknown[] = [];
  let used = 0;
  for (let i = 0; i < candidates.length; i++) {
    const text = JSON.stringify(candidates[i]) ?? 'null';
    const tokens = text.length <= 4_096 ? countTokens(text) : estimateTokens(text) * 1.1;
    if (used + tokens > room && items.length > 0) break;
    if (used + tokens > room) {
      throw new GatehouseError(
        'invalid_arguments',
        `Item ${offset + i} alone is over the budget; narrow it with gatehouse_result_query (e.g. ${args.path}[${offset + i}].keys(@))`,
        { argument: 'path' },
      );
    }
    items.push(candidates[i]);
    used += tokens + 1;
  }
  const next = offset + items.length;
  return toPage({
    handle: args.handle,
    path: args.path,
    offset,
    count: items.length,
    total,
    nextOffset: next < total ? next : null,
    items,
  });
}

function toPage(page: Record<string, unknown>): ShapedResult {
  const text = JSON.stringify(page);
  const tokens = countTokens(text);
  return { structuredContent: page, text, tokens, fullTokens: tokens };
}
