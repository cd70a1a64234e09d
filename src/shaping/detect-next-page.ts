import { redactionMarker } from '../audit/index.ts';
import type { Tool } from '../core/index.ts';

/** What a call and its answer say about pagination. */
export interface NextPageInput {
  readonly tool: Tool;
  /** The validated arguments of the call. */
  readonly args: Readonly<Record<string, unknown>>;
  /** Response headers (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON answer, if it was JSON. */
  readonly value: unknown;
  /** Only next-page URLs of this origin are followed (the service's own). */
  readonly allowedOrigin: string;
}

/** Cursor-like fields, in the order they are looked for, at the top level and in the usual envelopes. */
const cursorFields = [
  'next_cursor',
  'nextCursor',
  'nextPageToken',
  'next_page_token',
  'next_page',
  'nextPage',
  'next',
  'cursor',
] as const;
const envelopes = ['meta', 'pagination', 'paging', 'response_metadata', 'links', '_links', 'page_info', 'pageInfo'];
/** Tool parameters that take a cursor, in order of preference. */
const cursorParameters = [
  'cursor',
  'page_token',
  'pageToken',
  'next_cursor',
  'after',
  'starting_after',
  'continuation_token',
  'continuationToken',
  'next',
  'page',
];
const mainArrays = ['data', 'items', 'results', 'values', 'records', 'entries', 'nodes', 'objects'];

/**
 * Finds how to ask for the next page of a list answer, as the arguments that change: the `rel="next"` URL of a
 * `Link` header (same origin only) mapped onto the tool's query parameters; a cursor field (`next_cursor`,
 * `nextPageToken`, `next`, `cursor`, also under `meta`/`pagination`/`response_metadata`...) passed to the tool's
 * cursor parameter; Stripe-style `has_more` with `starting_after`; or, for a tool with an integer `page`
 * parameter whose answer is a full non-empty list, `page + 1`. Undefined when there is no next page or the
 * tool cannot ask for it.
 *
 * RS-01: `headers` and `value` are the scrubbed ones (`toToolPage`), and a value that carries the redaction marker
 * is never offered: a parameter that held a credential (`api_key=`, `token=Bearer …`) is dropped, since the gateway
 * injects the credential itself; a cursor or an id that held one is not offered at all (no `_nextPage`), since a
 * cursor with a redacted part is no longer the upstream's cursor and would fetch something else or fail.
 */
export function detectNextPage(input: NextPageInput): Record<string, unknown> | undefined {
  const hint = findNextPage(input);
  if (hint === undefined) return undefined;
  let offered: Record<string, unknown> | undefined;
  for (const [argument, value] of Object.entries(hint)) {
    if (typeof value === 'string' && value.includes(redactionMarker)) continue;
    offered ??= {};
    offered[argument] = value;
  }
  return offered;
}

function findNextPage(input: NextPageInput): Record<string, unknown> | undefined {
  const query = new Map(input.tool.request.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p]));
  if (query.size === 0) return undefined;
  const properties = (input.tool.inputSchema['properties'] ?? {}) as Record<string, { type?: unknown }>;
  const typeOf = (argument: string) => properties[argument]?.type;

  const fromUrl = (url: string): Record<string, unknown> | undefined => {
    let next: URL;
    try {
      next = new URL(url, input.allowedOrigin);
    } catch {
      return undefined;
    }
    if (next.origin !== input.allowedOrigin) return undefined;
    const hint: Record<string, unknown> = {};
    for (const [name, raw] of next.searchParams) {
      const parameter = query.get(name);
      if (parameter === undefined) continue;
      const type = typeOf(parameter.argument);
      const value = (type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
      if (String(input.args[parameter.argument] ?? '') !== raw) hint[parameter.argument] = value;
    }
    return Object.keys(hint).length > 0 ? hint : undefined;
  };

  const link = input.headers['link'];
  if (link !== undefined) {
    const next = /<([^>]*)>\s*;[^,]*\brel="?(?:[^",]*\s)?next(?:\s[^",]*)?"?/i.exec(link);
    // An API that paginates with Link headers says `rel="next"` on every page but the last.
    return next?.[1] === undefined ? undefined : fromUrl(next[1]);
  }

  const body = input.value;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return Array.isArray(body) ? nextPageNumber(input, query, typeOf, body.length) : undefined;
  }
  const record = body as Record<string, unknown>;

  const token = findCursor(record);
  if (token !== undefined) {
    if (/^https?:\/\//i.test(token)) return fromUrl(token);
    for (const name of cursorParameters) {
      const parameter = query.get(name);
      if (parameter === undefined) continue;
      const type = typeOf(parameter.argument);
      if ((type === 'integer' || type === 'number') && !/^\d+$/.test(token)) continue;
      return { [parameter.argument]: type === 'integer' || type === 'number' ? Number(token) : token };
    }
    return undefined;
  }

  if (record['has_more'] === true && query.has('starting_after')) {
    const data = record['data'];
    const last = Array.isArray(data) ? (data[data.length - 1] as Record<string, unknown> | undefined) : undefined;
    if (last !== undefined && typeof last['id'] === 'string') {
      return { [query.get('starting_after')!.argument]: last['id'] };
    }
  }
  if (record['has_more'] === false || record['hasMore'] === false) return undefined;

  for (const key of mainArrays) {
    const list = record[key];
    if (Array.isArray(list)) return nextPageNumber(input, query, typeOf, list.length);
  }
  return undefined;
}

function findCursor(record: Record<string, unknown>): string | undefined {
  const places = [record, ...envelopes.map((key) => record[key])];
  for (const place of places) {
    if (place === null || typeof place !== 'object' || Array.isArray(place)) continue;
    for (const field of cursorFields) {
      const value = (place as Record<string, unknown>)[field];
      if (typeof value === 'string' && value !== '') return value;
      if (typeof value === 'number' && field !== 'cursor') return String(value);
      if (value !== null && typeof value === 'object' && typeof (value as { href?: unknown }).href === 'string') {
        return (value as { href: string }).href;
      }
    }
  }
  return undefined;
}

function nextPageNumber(
  input: NextPageInput,
  query: ReadonlyMap<string, { readonly argument: string }>,
  typeOf: (argument: string) => unknown,
  length: number,
): Record<string, unknown> | undefined {
  const page = query.get('page');
  if (page === undefined || typeOf(page.argument) !== 'integer' || length === 0) return undefined;
  const size = query.get('per_page') ?? query.get('page_size') ?? query.get('limit');
  const properties = (input.tool.inputSchema['properties'] ?? {}) as Record<string, { default?: unknown }>;
  const perPage = size === undefined ? undefined : (input.args[size.argument] ?? properties[size.argument]?.default);
  if (typeof perPage === 'number' && length < perPage) return undefined;
  const current = typeof input.args[page.argument] === 'number' ? (input.args[page.argument] as number) : 1;
  return { [page.argument]: current + 1 };
}
