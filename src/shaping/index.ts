export { attachNextPage, nextPageUsage } from './attach-next-page.ts';
export { conformToOutput, matchesOutputSchema } from './conform-structured-output.ts';
export { countTokens, estimateTokens, exactCountChars, measureTokens, type TokenMeasure } from './count-tokens.ts';
export { createMemoryCacheBackend, type MemoryCacheBackendOptions } from './create-memory-cache-backend.ts';
export { createMemoryResultStore, type MemoryResultStoreOptions } from './create-memory-result-store.ts';
export { createRedisResultStore, type RedisCommands } from './create-redis-result-store.ts';
export {
  type CachedAnswer,
  type CacheHit,
  type CacheScope,
  type CacheSlot,
  cacheTtlMs,
  createResultCache,
  type ResultCache,
} from './create-result-cache.ts';
export {
  createResultHandles,
  type LoadedResult,
  type ResultHandles,
  type ResultHandlesOptions,
  type ResultOwner,
} from './create-result-handles.ts';
export {
  createToolSearchIndex,
  searchToolIndexes,
  type ToolField,
  type ToolMatchReason,
  type ToolSearchHit,
  type ToolSearchIndex,
  type ToolSearchQuery,
  tokenize,
} from './create-tool-search-index.ts';
export { type ArrayLocation, describeJsonShape, type JsonShape, type ShapeOptions } from './describe-json-shape.ts';
export { detectNextPage, type NextPageInput } from './detect-next-page.ts';
export { type MetaTool, type MetaToolName, metaToolNames, metaTools } from './meta-tools.ts';
export { type PageArguments, pageResult } from './page-result.ts';
export { queryResult } from './query-result.ts';
export {
  type ResultQuotaOwner,
  type ResultQuotas,
  type ResultStore,
  resultQuotasOf,
  type StoredResult,
} from './result-store.ts';
export {
  type ShapedResult,
  type ShapingContext,
  shapeJsonValue,
  shapeToolResult,
} from './shape-tool-result.ts';
export { type ResultSummary, type SummaryInput, summarizeResult } from './summarize-result.ts';
export { scrubFederated, scrubFederatedAnswer, toFederatedPage, withoutGatewayMeta } from './to-federated-page.ts';
export { type ToolPage, toToolPage, type UpstreamPageAnswer } from './to-tool-page.ts';
export { type ToolResult, toToolResult, type UpstreamAnswer } from './to-tool-result.ts';
