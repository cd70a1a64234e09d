import type { NamedTool, ServiceCatalog, ToolsetConfig } from '../core/index.ts';
import { matchToolGlob, mostSpecificByGlob } from '../policy/index.ts';
import {
  countTokens,
  createToolSearchIndex,
  measureTokens,
  metaTools,
  type ToolSearchIndex,
} from '../shaping/index.ts';
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
  /**
   * Tools whose output schema is not listed because the full list would not fit `discovery.maxListTokens` with it
   * (`fitOutputSchemas`), largest schema first, and the tokens the full list would take with every schema.
   */
  readonly outputSchemasDropped: { readonly tools: readonly string[]; readonly tokensWithAll: number } | undefined;
  /** Over-budget results become handles (and the result tools are listed). */
  readonly handles: boolean;
  readonly ttlMs: number;
  /** Result budget (tokens) of a tool: the most specific matching `results.toolBudgets` glob, else `results.budget`. */
  budgetOf(tool: string): number;
  /** Pages fetched per call when following upstream pagination (undefined: off). */
  readonly maxPages: number | undefined;
  /** Search indexes of the services this toolset draws on (built on first use, shared across tenants). */
  searchIndexes(): readonly ToolSearchIndex[];
  /** A tool's safety in this toolset (its `policy.safety` applied); the search indexes hold the catalogue's. */
  safetyOf(tool: string): NamedTool['tool']['safety'] | undefined;
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
  withSchemas: readonly ListedTool[],
  withoutOutputSchema: (listed: ListedTool) => ListedTool = stripOutputSchema,
  requiresApproval: (tool: NamedTool) => boolean = () => false,
): ToolsetMeta {
  const { discovery: settings } = config;
  const handles = config.results.handles.enabled;
  // `execution.taskSupport` (2025-11-25 tasks): a tool the toolset's approval can make wait for a person declares
  // that its call may run as a task (served by the MCP layer). Others do not: they never wait, and ~10 tokens a tool
  // would grow every listing. A decoration of the listing, so the bound measures it too.
  const withTaskSupport = (tool: ListedTool): ListedTool => {
    const named = tools.get(tool.name);
    return named !== undefined && requiresApproval(named) ? { ...tool, execution: { taskSupport: 'optional' } } : tool;
  };
  const fullListOf = (listed: readonly ListedTool[]) =>
    (handles ? [...listed, metaTools.gatehouse_result_query, metaTools.gatehouse_result_page] : listed).map(
      withTaskSupport,
    );
  const fitted = fitOutputSchemas(withSchemas, withoutOutputSchema, fullListOf, config);
  const all = fitted.all.map(withTaskSupport);
  const fullListTokens = fitted.fullListTokens;
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
    outputSchemasDropped: fitted.dropped,
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
    safetyOf(tool: string) {
      return tools.get(tool)?.tool.safety;
    },
  });
}

/**
 * Output schemas give way first when a toolset's full `tools/list` is over its bound (`discovery.maxListTokens`, in
 * mode `auto`): if the list fits without some of them, the largest schemas (in o200k tokens) are dropped one by one
 * until it fits, so the tools stay listed directly. If it does not fit even without any, discovery takes over as
 * before and every schema stays (the discovery listing does not carry them; `gatehouse_describe_tools` shows them).
 * Modes `never` and `always` keep every schema. A tool that lost its schema declares none, so its results are not
 * made to conform and pass with their `structuredContent` as the upstream answered (MCP clients check
 * `structuredContent` only against a declared schema).
 */
function fitOutputSchemas(
  withSchemas: readonly ListedTool[],
  withoutOutputSchema: (listed: ListedTool) => ListedTool,
  fullListOf: (listed: readonly ListedTool[]) => readonly ListedTool[],
  config: ToolsetConfig,
): {
  readonly all: readonly ListedTool[];
  readonly fullListTokens: number;
  readonly dropped: ToolsetMeta['outputSchemasDropped'];
} {
  const bound = config.discovery.maxListTokens;
  const tokensOf = (listed: readonly ListedTool[]) =>
    measureTokens(JSON.stringify({ tools: fullListOf(listed) }), bound).tokens;
  const tokensWithAll = tokensOf(withSchemas);
  const kept = { all: withSchemas, fullListTokens: tokensWithAll, dropped: undefined };
  const declaring = withSchemas.filter((tool) => tool.outputSchema !== undefined);
  if (config.discovery.mode !== 'auto' || tokensWithAll <= bound || declaring.length === 0) return kept;
  if (tokensOf(withSchemas.map(withoutOutputSchema)) > bound) return kept;
  // Largest first, by each schema's own tokens (a close estimate of what leaving it out saves; the list is measured
  // again after each estimate says it fits).
  const bySize = declaring
    .map((tool) => ({ name: tool.name, tokens: countTokens(JSON.stringify(tool.outputSchema)) }))
    .sort((a, b) => b.tokens - a.tokens || a.name.localeCompare(b.name));
  const dropped = new Set<string>();
  let estimate = tokensWithAll;
  let all = withSchemas;
  let tokens = tokensWithAll;
  for (const { name, tokens: saved } of bySize) {
    dropped.add(name);
    estimate -= saved;
    if (estimate > bound && dropped.size < bySize.length) continue;
    all = withSchemas.map((tool) => (dropped.has(tool.name) ? withoutOutputSchema(tool) : tool));
    tokens = tokensOf(all);
    if (tokens <= bound) break;
    estimate = tokens;
  }
  return { all, fullListTokens: tokens, dropped: { tools: [...dropped], tokensWithAll } };
}

function stripOutputSchema(listed: ListedTool): ListedTool {
  const { outputSchema: _dropped, ...rest } = listed;
  return rest;
}

function indexesOf(services: readonly ServiceCatalog[], used: ReadonlySet<string>): readonly ToolSearchIndex[] {
  return services.filter((s) => used.has(s.service)).map((s) => createToolSearchIndex(s));
}
