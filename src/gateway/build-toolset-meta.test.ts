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
