import { describe, expect, it } from 'vitest';
import type { Tool } from '../core/index.ts';
import { detectNextPage } from './detect-next-page.ts';

function toolWith(query: Record<string, { type: string; default?: unknown }>): Tool {
  return {
    key: 'list',
    operation: 'list',
    title: 'List',
    description: '',
    inputSchema: { type: 'object', properties: query },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    safety: 'safe',
    scopes: [],
    tags: [],
    request: {
      method: 'GET',
      pathTemplate: '/things',
      parameters: Object.keys(query).map((name) => ({
        name,
        argument: name,
        in: 'query' as const,
        required: false,
        style: 'form' as const,
        explode: true,
        allowReserved: false,
      })),
    },
  };
}

const origin = 'https://api.example.com';
const base = { headers: {}, allowedOrigin: origin, args: {} };

describe('detectNextPage()', () => {
  it('maps a same-origin Link rel="next" onto query parameters, and refuses another origin', () => {
    const tool = toolWith({ page: { type: 'integer' }, per_page: { type: 'integer' } });
    const link = `<${origin}/things?page=3&per_page=50>; rel="next", <${origin}/things?page=9>; rel="last"`;
    expect(detectNextPage({ ...base, tool, headers: { link }, value: [], args: { page: 2, per_page: 50 } })).toEqual({
      page: 3,
    });
    const evil = '<https://evil.example/things?page=3>; rel="next"';
    expect(detectNextPage({ ...base, tool, headers: { link: evil }, value: [1] })).toBeUndefined();
    const last = `<${origin}/things?page=1>; rel="prev"`;
    expect(detectNextPage({ ...base, tool, headers: { link: last }, value: [1, 2] })).toBeUndefined();
  });

  it('passes cursor fields (top level and in envelopes) to the cursor parameter', () => {
    const tool = toolWith({ cursor: { type: 'string' } });
    expect(detectNextPage({ ...base, tool, value: { items: [], next_cursor: 'abc' } })).toEqual({ cursor: 'abc' });
    expect(detectNextPage({ ...base, tool, value: { response_metadata: { next_cursor: 'dGVhbTpD' } } })).toEqual({
      cursor: 'dGVhbTpD',
    });
    expect(detectNextPage({ ...base, tool, value: { items: [], next_cursor: '' } })).toBeUndefined();
    const tokens = toolWith({ pageToken: { type: 'string' } });
    expect(detectNextPage({ ...base, tool: tokens, value: { nextPageToken: 'p2' } })).toEqual({ pageToken: 'p2' });
  });

  it('uses Stripe-style has_more with starting_after, and stops when has_more is false', () => {
    const tool = toolWith({ starting_after: { type: 'string' }, limit: { type: 'integer' } });
    const value = { object: 'list', data: [{ id: 'cus_1' }, { id: 'cus_2' }], has_more: true };
    expect(detectNextPage({ ...base, tool, value })).toEqual({ starting_after: 'cus_2' });
    expect(detectNextPage({ ...base, tool, value: { ...value, has_more: false } })).toBeUndefined();
  });

  it('proposes page + 1 only for a full page of a tool with an integer page parameter', () => {
    const tool = toolWith({ page: { type: 'integer' }, per_page: { type: 'integer', default: 2 } });
    expect(detectNextPage({ ...base, tool, value: [1, 2] })).toEqual({ page: 2 });
    expect(detectNextPage({ ...base, tool, value: [1], args: { page: 4 } })).toBeUndefined();
    expect(detectNextPage({ ...base, tool, value: [] })).toBeUndefined();
  });
  it('RS-01 (review finding 2b, 2c) never offers a value that carries a redacted secret', () => {
    const tool = toolWith({ page: { type: 'integer' }, api_key: { type: 'string' }, token: { type: 'string' } });
    // A Link header as the call's scrubber left it: the credential-bearing parameters are dropped, `page` stays.
    const link = `<${origin}/things?page=2&api_key=[REDACTED]&token=Bearer%20[REDACTED]>; rel="next"`;
    expect(detectNextPage({ ...base, tool, headers: { link }, value: [] })).toEqual({ page: 2 });
    const onlyKey = `<${origin}/things?api_key=x-[REDACTED]>; rel="next"`;
    expect(detectNextPage({ ...base, tool, headers: { link: onlyKey }, value: [] })).toBeUndefined();
    // A cursor that encoded the credential (base64 of `page=2&auth=<secret>`, its secret part redacted) is refused.
    const cursorTool = toolWith({ cursor: { type: 'string' } });
    const value = { data: [1], next_cursor: 'cGFnZT0yJmF1dGg9[REDACTED]' };
    expect(detectNextPage({ ...base, tool: cursorTool, value })).toBeUndefined();
    const nested = { data: [1], meta: { next: `${origin}/things?api_key=[REDACTED]` } };
    expect(detectNextPage({ ...base, tool, value: nested })).toBeUndefined();
    const stripe = toolWith({ starting_after: { type: 'string' } });
    const listed = { data: [{ id: 'obj_[REDACTED]' }], has_more: true };
    expect(detectNextPage({ ...base, tool: stripe, value: listed })).toBeUndefined();
  });
});
