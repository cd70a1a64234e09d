import type { NamedTool, ServiceCatalog, ToolsetConfig } from '../core/index.ts';
import { matchToolGlob, mostSpecificByGlob } from '../policy/index.ts';
import { createToolSearchIndex, measureTokens, metaTools, type ToolSearchIndex } from '../shaping/index.ts';
import type { ListedTool } from './contract.ts';

/** How one toolset economises context: what `tools/list` shows, budgets, handles, discovery, pagination. */
export interface ToolsetMeta {
  /** The `tools/list` answer: every tool, or the discovery meta-tools plus pinned tools; plus the result tools. */
  readonly listed: readonly ListedTool[];
  /** Every tool of the toolset in listed form, by name (what `gatehouse_describe_tools` returns). */
  readonly allByName: ReadonlyMap<string, ListedTool>;
  /** Discovery meta-tools are on (the full list is over `discovery.maxListTokens`, or mode `always`). */
  readonly discovery: boolean;
  /** Tokens (o200k) of the full `tools/list` answer, every tool listed (exact near the limit, else estimated). */
  readonly fullListTokens: number;
  /** Over-budget results become handles (and the result tools are listed). */
  readonly handles: boolean;
  readonly ttlMs: number;
  /** Result budget (tokens) of a tool: the most specific matching `results.toolBudgets` glob, else `results.budget`. */
  budgetOf(tool: string): number;
  /** Pages fetched per call when following upstream pagination (undefined: off). */
  readonly maxPages: number | undefined;
  /** Search indexes of the services this toolset draws on (built on first use, shared across tenants). */
  searchIndexes(): readonly ToolSearchIndex[];
}

/**
 * Computes a toolset's context settings once at start. The result tools (`gatehouse_result_query`,
 * `gatehouse_result_page`) are listed when handles are on; discovery replaces the full list by
 * `gatehouse_search_tools`, `gatehouse_describe_tools`, `gatehouse_call_tool` and the pinned tools when the
 * full `tools/list` answer would take more than `discovery.maxListTokens` o200k tokens, or (older configs) the
 * toolset has more tools than `discovery.threshold` (mode `auto`); always (`always`); never (`never`). Size, not
 * count, decides: 14 tools of one real API can take 2,000 tokens, 60 small ones fewer than 1,000.
 */
export function buildToolsetMeta(
  config: ToolsetConfig,
  tools: ReadonlyMap<string, NamedTool>,
  services: readonly ServiceCatalog[],
  all: readonly ListedTool[],
): ToolsetMeta {
  const { discovery: settings } = config;
  const handles = config.results.handles.enabled;
  const fullList = handles ? [...all, metaTools.gatehouse_result_query, metaTools.gatehouse_result_page] : all;
  const fullListTokens = measureTokens(JSON.stringify({ tools: fullList }), settings.maxListTokens).tokens;
  const discovery =
    settings.mode === 'always' ||
    (settings.mode === 'auto' &&
      (fullListTokens > settings.maxListTokens ||
        (settings.threshold !== undefined && all.length > settings.threshold)));
  const pinned = matchToolGlob(settings.pinned);
  const listed: ListedTool[] = discovery
    ? [
        metaTools.gatehouse_search_tools,
        metaTools.gatehouse_describe_tools,
        metaTools.gatehouse_call_tool,
        ...all.filter((tool) => pinned(tool.name)),
      ]
    : [...all];
  if (handles) listed.push(metaTools.gatehouse_result_query, metaTools.gatehouse_result_page);
  const toolBudgetOf = mostSpecificByGlob(config.results.toolBudgets);
  const used = new Set([...tools.values()].map((tool) => tool.service));
  // Built on the first search (0.2-0.7 s for a large catalogue with WordNet, once per bound catalogue), not at
  // start: a start with many tenants and services would pay it for indexes nobody searches.
  let indexes: readonly ToolSearchIndex[] | undefined;
  return Object.freeze({
    listed: Object.freeze(listed),
    allByName: new Map(all.map((tool) => [tool.name, tool])),
    discovery,
    fullListTokens,
    handles,
    ttlMs: config.results.handles.ttlSeconds * 1000,
    budgetOf(tool: string) {
      return toolBudgetOf(tool) ?? config.results.budget;
    },
    maxPages: config.results.autoPaginate?.maxPages,
    searchIndexes() {
      indexes ??= indexesOf(services, used);
      return indexes;
    },
  });
}

function indexesOf(services: readonly ServiceCatalog[], used: ReadonlySet<string>): readonly ToolSearchIndex[] {
  return services.filter((s) => used.has(s.service)).map((s) => createToolSearchIndex(s));
}
