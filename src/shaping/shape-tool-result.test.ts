import { describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import { countTokens } from './count-tokens.ts';
import { createMemoryResultStore } from './create-memory-result-store.ts';
import { defaultQueryLimits } from './create-query-evaluator.ts';
import { createResultHandles, type ResultOwner } from './create-result-handles.ts';
import { pageResult } from './page-result.ts';
import { queryResult } from './query-result.ts';
import { shapeToolResult } from './shape-tool-result.ts';

function createClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, monotonic: () => now, advance: (ms) => (now += ms) };
}

/** About 1 MB of JSON like a list API answers: objects with ids, names, nested owners, unicode. */
function createLargeValue(): { value: unknown; text: string } {
  const items = Array.from({ length: 4_000 }, (_, i) => ({
    id: i,
    name: `repository-${i}`,
    full_name: `octo-org/repository-${i}`,
    description: i % 7 === 0 ? null : `Service ${i} — handles “quotes”, emoji 🚀 and \\ backslashes`,
    owner: { login: `user${i % 40}`, id: 1000 + (i % 40), site_admin: false },
    topics: ['api', 'mcp', `t${i % 5}`],
    stargazers_count: (i * 37) % 1000,
  }));
  const value = { total_count: items.length, incomplete_results: false, items };
  return { value, text: JSON.stringify(value) };
}

const alice: ResultOwner = { tenant: 'acme', subject: 'alice', clientKey: 'key-1' };

function setup() {
  const clock = createClock();
  const store = createMemoryResultStore({ clock, maxBytes: 64 * 1024 * 1024 });
  // These tests are about shaping, not the query budget nor the workers' priority (both tested in
  // query-result.integration.test.ts): workers at normal priority and a generous time budget, as the lowest
  // priority and the 1 s default are wall-clock limits a loaded machine exceeds (a worker at nice 19 beside a
  // busy suite took over 20 s to start).
  const handles = createResultHandles({
    store,
    clock,
    query: { ...defaultQueryLimits, timeoutSeconds: 30 },
    queryWorkerNice: 0,
  });
  return { clock, handles, context: { budget: 8_000, owner: alice, handles } };
}

describe('shapeToolResult()', () => {
  it('delivers a result within budget as it is; one of at most budget bytes is not tokenised', async () => {
    const { context } = setup();
    const text = JSON.stringify({ id: 1, name: 'small' });
    const shaped = await shapeToolResult({ structuredContent: { id: 1, name: 'small' }, text }, context);
    expect(shaped.text).toBe(text);
    expect(shaped.handle).toBeUndefined();
    // A token covers at least one byte, so this estimate is an upper bound's quarter, never above the budget.
    expect(shaped.tokens).toBe(Math.ceil(Buffer.byteLength(text) / 4));
  });

  it('counts a result exactly when its size alone cannot prove it is within budget', async () => {
    const { context } = setup();
    const value = { items: Array.from({ length: 600 }, (_, i) => ({ id: i, name: `item ${i}` })) };
    const text = JSON.stringify(value);
    expect(Buffer.byteLength(text)).toBeGreaterThan(8_000);
    const shaped = await shapeToolResult({ structuredContent: value, text }, context);
    expect(shaped.handle).toBeUndefined();
    expect(shaped.tokens).toBe(countTokens(text));
  });

  it('turns a 1 MB answer into a summary within budget; query and page recover the exact original', async () => {
    const { context } = setup();
    const { value, text } = createLargeValue();
    expect(text.length).toBeGreaterThan(900_000);
    const shaped = await shapeToolResult({ structuredContent: value as Record<string, unknown>, text }, context);
    expect(shaped.handle).toMatch(/^rh_/);
    expect(shaped.tokens).toBeLessThanOrEqual(2_000);
    expect(countTokens(shaped.text)).toBe(shaped.tokens);
    const summary = shaped.structuredContent as Record<string, unknown>;
    expect(summary['shape']).toContain('items: Array(4000)');
    expect(summary['arrays']).toContainEqual({ path: 'items', count: 4000 });
    const handle = shaped.handle as string;

    // Page through the text by character ranges: the concatenation is the original, byte for byte.
    let rebuilt = '';
    let offset: number | null = 0;
    let pages = 0;
    while (offset !== null && pages < 500) {
      const page = await pageResult({ handle, offset }, context);
      expect(page.tokens).toBeLessThanOrEqual(context.budget);
      const content = page.structuredContent as { text: string; nextOffset: number | null };
      rebuilt += content.text;
      offset = content.nextOffset;
      pages++;
    }
    expect(Buffer.from(rebuilt, 'utf8').equals(Buffer.from(text, 'utf8'))).toBe(true);

    // Page through the array: every item, in order.
    const items: unknown[] = [];
    offset = 0;
    pages = 0;
    while (offset !== null && pages < 500) {
      const page = await pageResult({ handle, path: 'items', offset }, context);
      expect(page.tokens).toBeLessThanOrEqual(context.budget);
      const content = page.structuredContent as { items: unknown[]; nextOffset: number | null };
      items.push(...content.items);
      offset = content.nextOffset;
      pages++;
    }
    expect(JSON.stringify(items)).toBe(JSON.stringify((value as { items: unknown[] }).items));

    // A query within budget answers directly; one over budget becomes a new handle, itself navigable.
    const small = await queryResult({ handle, expression: 'items[?id==`42`].full_name' }, context);
    expect(small.structuredContent).toEqual({ result: ['octo-org/repository-42'] });
    const large = await queryResult({ handle, expression: 'items[:200]' }, context);
    expect(large.handle).toMatch(/^rh_/);
    expect(large.handle).not.toBe(handle);
    const whole = await queryResult({ handle: large.handle as string, expression: 'length(@)' }, context);
    expect(whole.structuredContent).toEqual({ result: 200 });
    // The whole 1 MB array is over the query's output budget (64 KiB by default): refused, to be paged instead.
    await expect(queryResult({ handle, expression: 'items' }, context)).rejects.toMatchObject({
      code: 'query_budget_exceeded',
      details: { budget: 'output' },
    });
  }, 120_000); // CPU-heavy (a 1 MB answer paged twice): 13-20 s at load 20-40, over the suite's 20 s hang guard

  it('MC-05 a handle of one subject, client key or tenant is invisible to another (not_found)', async () => {
    const { context, handles } = setup();
    const { value, text } = createLargeValue();
    const shaped = await shapeToolResult({ structuredContent: value as Record<string, unknown>, text }, context);
    const handle = shaped.handle as string;
    for (const owner of [
      { ...alice, subject: 'bob' },
      { ...alice, clientKey: 'key-2' },
      { ...alice, tenant: 'other' },
    ]) {
      await expect(pageResult({ handle, offset: 0 }, { ...context, owner })).rejects.toMatchObject({
        code: 'not_found',
      });
      await expect(handles.load(owner, handle)).rejects.toMatchObject({ code: 'not_found' });
    }
    await expect(pageResult({ handle, offset: 0 }, context)).resolves.toBeDefined();
  });

  it('handles expire after their lifetime (injected clock)', async () => {
    const { context, clock } = setup();
    const text = 'x '.repeat(40_000);
    const shaped = await shapeToolResult({ text }, { ...context, ttlMs: 60_000 });
    const handle = shaped.handle as string;
    clock.advance(59_000);
    await expect(pageResult({ handle, offset: 0 }, context)).resolves.toBeDefined();
    clock.advance(1_000);
    await expect(pageResult({ handle, offset: 0 }, context)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('delivers an over-budget result whole when handles are off', async () => {
    const { context } = setup();
    const text = 'word '.repeat(20_000);
    const shaped = await shapeToolResult({ text }, { ...context, handles: undefined });
    expect(shaped.text).toBe(text);
    expect(shaped.tokens).toBeGreaterThan(context.budget);
  });

  it('rejects an invalid JMESPath expression and a text result queried as JSON with invalid_arguments', async () => {
    const { context } = setup();
    const { value, text } = createLargeValue();
    const json = await shapeToolResult({ structuredContent: value as Record<string, unknown>, text }, context);
    await expect(queryResult({ handle: json.handle as string, expression: 'items[' }, context)).rejects.toMatchObject({
      code: 'invalid_arguments',
    });
    const plain = await shapeToolResult({ text: 'y '.repeat(40_000) }, context);
    await expect(queryResult({ handle: plain.handle as string, expression: '@' }, context)).rejects.toMatchObject({
      code: 'invalid_arguments',
    });
  });
});
