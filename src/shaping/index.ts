export { countTokens } from './count-tokens.ts';
export { createMemoryCacheBackend, type MemoryCacheBackendOptions } from './create-memory-cache-backend.ts';
export {
  type CacheHit,
  type CacheScope,
  type CacheSlot,
  cacheTtlMs,
  createResultCache,
  type ResultCache,
} from './create-result-cache.ts';
export { type ToolResult, toToolResult, type UpstreamAnswer } from './to-tool-result.ts';
