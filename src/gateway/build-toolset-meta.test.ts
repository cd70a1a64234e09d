import { describe, expect, it } from 'vitest';
import { parseConfig, type ToolsetConfig } from '../core/index.ts';
import { countTokens } from '../shaping/index.ts';
import { buildToolsetMeta } from './build-toolset-meta.ts';
import type { ListedTool } from './contract.ts';

function toolsetWith(discovery: Record<string, unknown> | undefined): ToolsetConfig {
  const config = parseConfig(
    { tenants: [{ id: 'acme', toolsets: [{ id: 'all', ...(discovery === undefined ? {} : { discovery }) }] }] },
    { env: {} },
  );
  return config.tenants[0]?.toolsets[0] as ToolsetConfig;
}

/** `count` listed tools whose descriptions have about `words` words each. */
function toolsOf(count: number, words: number): ListedTool[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `api_op${i}`,
    title: `Operation ${i}`,
    description: Array.from({ length: words }, (_, w) => `word${w}`).join(' '),
    inputSchema: { type: 'object', properties: {} },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }));
}

const listTokensOf = (listed: readonly ListedTool[]) => countTokens(JSON.stringify({ tools: listed }));

describe('buildToolsetMeta() decides listing by tools/list size', () => {
  it('lists small tools directly when the whole list fits 1,000 tokens', () => {
    const all = toolsOf(8, 1);
    const meta = buildToolsetMeta(toolsetWith(undefined), new Map(), [], all);
    expect(meta.discovery).toBe(false);
    expect(meta.listed.map((tool) => tool.name)).toEqual([
      ...all.map((tool) => tool.name),
      'gatehouse_result_query',
      'gatehouse_result_page',
    ]);
    expect(listTokensOf(meta.listed)).toBeLessThanOrEqual(1_000);
  });

  it('switches 5 large tools to search/describe/call (the old count rule would not), and the list fits 1,000 tokens', () => {
    const all = toolsOf(5, 150);
    expect(listTokensOf(all)).toBeGreaterThan(1_000);
    const meta = buildToolsetMeta(toolsetWith(undefined), new Map(), [], all);
    expect(meta.discovery).toBe(true);
    expect(meta.fullListTokens).toBeGreaterThan(1_000);
    expect(meta.listed.map((tool) => tool.name)).toEqual([
      'gatehouse_search_tools',
      'gatehouse_describe_tools',
      'gatehouse_call_tool',
      'gatehouse_result_query',
      'gatehouse_result_page',
    ]);
    expect(listTokensOf(meta.listed)).toBeLessThanOrEqual(1_000);
  });

  it('counts the result tools in the size, and follows maxListTokens, mode and the older threshold', () => {
    const all = toolsOf(5, 150);
    expect(buildToolsetMeta(toolsetWith({ maxListTokens: 5_000 }), new Map(), [], all).discovery).toBe(false);
    expect(buildToolsetMeta(toolsetWith({ mode: 'never' }), new Map(), [], all).discovery).toBe(false);
    const small = toolsOf(3, 1);
    expect(buildToolsetMeta(toolsetWith({ mode: 'always' }), new Map(), [], small).discovery).toBe(true);
    // An existing config with a count threshold keeps working: more tools than it also switches.
    expect(buildToolsetMeta(toolsetWith({ threshold: 2 }), new Map(), [], small).discovery).toBe(true);
    expect(buildToolsetMeta(toolsetWith({ threshold: 3 }), new Map(), [], small).discovery).toBe(false);
    // The size just under the limit lists directly; the result tools count towards it.
    const medium = toolsOf(4, 20);
    const withResultTools = buildToolsetMeta(toolsetWith({ maxListTokens: 100_000 }), new Map(), [], medium);
    const limit = listTokensOf(withResultTools.listed);
    expect(buildToolsetMeta(toolsetWith({ maxListTokens: limit }), new Map(), [], medium).discovery).toBe(false);
    expect(buildToolsetMeta(toolsetWith({ maxListTokens: limit - 1 }), new Map(), [], medium).discovery).toBe(true);
  });

  it('rejects a maxListTokens that is not a positive size, naming the field', () => {
    expect(() => toolsetWith({ maxListTokens: 0 })).toThrowError(
      expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining('maxListTokens') }),
    );
  });
});

/** `toolsOf`, each tool with an output schema of `properties[i]` members. */
function toolsWithSchemas(properties: readonly number[]): ListedTool[] {
  return toolsOf(properties.length, 10).map((tool, i) => ({
    ...tool,
    outputSchema: {
      type: 'object',
      properties: Object.fromEntries(
        Array.from({ length: properties[i] ?? 0 }, (_, p) => [`field${p}`, { type: 'string' }]),
      ),
    },
  }));
}

const declaring = (listed: readonly ListedTool[]) =>
  listed.filter((tool) => tool.outputSchema !== undefined).map((tool) => tool.name);

describe('buildToolsetMeta() drops output schemas, largest first, before the list changes form', () => {
  const all = toolsWithSchemas([5, 40, 10, 60, 2]);
  const withoutAny = listTokensOf(
    buildToolsetMeta(
      toolsetWith({ maxListTokens: 100_000 }),
      new Map(),
      [],
      all.map(({ outputSchema: _s, ...tool }) => tool),
    ).listed,
  );
  const withEvery = listTokensOf(buildToolsetMeta(toolsetWith({ maxListTokens: 100_000 }), new Map(), [], all).listed);

  it('keeps every schema when the list fits with them', () => {
    const meta = buildToolsetMeta(toolsetWith({ maxListTokens: withEvery }), new Map(), [], all);
    expect(meta.discovery).toBe(false);
    expect(meta.outputSchemasDropped).toBeUndefined();
    expect(declaring(meta.listed)).toEqual(all.map((tool) => tool.name));
  });

  it('drops the largest schemas until the list fits, and lists the tools directly', () => {
    const bound = withEvery - 200; // about the 60-member schema's size, not the 40-member one's as well
    const meta = buildToolsetMeta(toolsetWith({ maxListTokens: bound }), new Map(), [], all);
    expect(meta.discovery).toBe(false);
    expect(listTokensOf(meta.listed)).toBeLessThanOrEqual(bound);
    expect(meta.outputSchemasDropped?.tools[0]).toBe('api_op3');
    expect(meta.outputSchemasDropped?.tokensWithAll).toBe(withEvery);
    // Largest first: whatever was dropped is larger than whatever was kept.
    const kept = new Set(declaring(meta.listed));
    const sizeOf = (name: string) => JSON.stringify(all.find((tool) => tool.name === name)?.outputSchema).length;
    const smallestDropped = Math.min(...(meta.outputSchemasDropped?.tools ?? []).map(sizeOf));
    for (const name of kept) expect(sizeOf(name)).toBeLessThan(smallestDropped);
    expect(kept.has('api_op4')).toBe(true);
    // The listed form of a dropped tool is the tool without its schema; describe_tools shows the same.
    expect(meta.allByName.get('api_op3')?.outputSchema).toBeUndefined();
    expect(meta.allByName.get('api_op4')?.outputSchema).toBeDefined();
  });

  it('drops every schema when only that fits', () => {
    const meta = buildToolsetMeta(toolsetWith({ maxListTokens: withoutAny }), new Map(), [], all);
    expect(meta.discovery).toBe(false);
    expect(declaring(meta.listed)).toEqual([]);
    expect(meta.outputSchemasDropped?.tools).toHaveLength(all.length);
  });

  it('keeps every schema when the list is over its bound even without them (discovery), and in modes never and always', () => {
    const over = buildToolsetMeta(toolsetWith({ maxListTokens: withoutAny - 1 }), new Map(), [], all);
    expect(over.discovery).toBe(true);
    expect(over.outputSchemasDropped).toBeUndefined();
    expect(declaring([...over.allByName.values()])).toHaveLength(all.length);
    for (const mode of ['never', 'always']) {
      const meta = buildToolsetMeta(toolsetWith({ mode, maxListTokens: withoutAny }), new Map(), [], all);
      expect(meta.outputSchemasDropped, mode).toBeUndefined();
      expect(declaring([...meta.allByName.values()]), mode).toHaveLength(all.length);
    }
  });
});
