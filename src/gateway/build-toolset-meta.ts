import type { NamedTool, ServiceCatalog, ToolsetConfig } from '../core/index.ts';
import { matchToolGlob } from '../policy/index.ts';
import { createToolSearchIndex, metaTools, type ToolSearchIndex } from '../shaping/index.ts';
import type { ListedTool } from './contract.ts';

/** How one toolset economises context: what `tools/list` shows, budgets, handles, discovery, pagination. */
export interface ToolsetMeta {
  /** The `tools/list` answer: every tool, or the discovery meta-tools plus pinned tools; plus the result tools. */
  readonly listed: readonly ListedTool[];
  /** Every tool of the toolset in listed form, by name (what `gatehouse_describe_tools` returns). */
  readonly allByName: ReadonlyMap<string, ListedTool>;
  /** Discovery meta-tools are on (the toolset has more tools than its threshold, or mode `always`). */
  readonly discovery: boolean;
  /** Over-budget results become handles (and the result tools are listed). */
  readonly handles: boolean;
  readonly ttlMs: number;
  /** Result budget (tokens) of a tool: the first matching `toolResultBudgets` glob, else `resultBudget`. */
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
 * toolset has more tools than `discovery.threshold` (mode `auto`), always (`always`) or never (`never`).
 */
export function buildToolsetMeta(
  config: ToolsetConfig,
  tools: ReadonlyMap<string, NamedTool>,
  services: readonly ServiceCatalog[],
  all: readonly ListedTool[],
): ToolsetMeta {
  const { discovery: settings } = config;
  const discovery = settings.mode === 'always' || (settings.mode === 'auto' && all.length > settings.threshold);
  const handles = config.resultHandles.enabled;
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
  const budgets = Object.entries(config.toolResultBudgets).map(([glob, budget]) => ({
    match: matchToolGlob([glob]),
    budget,
  }));
  const used = new Set([...tools.values()].map((tool) => tool.service));
  let indexes: readonly ToolSearchIndex[] | undefined;
  return Object.freeze({
    listed: Object.freeze(listed),
    allByName: new Map(all.map((tool) => [tool.name, tool])),
    discovery,
    handles,
    ttlMs: config.resultHandles.ttlSeconds * 1000,
    budgetOf(tool: string) {
      for (const entry of budgets) if (entry.match(tool)) return entry.budget;
      return config.resultBudget;
    },
    maxPages: config.autoPaginate?.maxPages,
    searchIndexes() {
      indexes ??= services.filter((s) => used.has(s.service)).map((s) => createToolSearchIndex(s));
      return indexes;
    },
  });
}
