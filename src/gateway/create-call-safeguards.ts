import type { Clock, Config, NamedTool, ToolSafety } from '../core/index.ts';
import { createCallLimits, createMemoryLimiter, type ReleaseLimits } from '../policy/index.ts';
import {
  type CachedAnswer,
  type CacheSlot,
  createMemoryCacheBackend,
  createResultCache,
  type ResultCache,
  type ToolResult,
} from '../shaping/index.ts';
import type { CacheBackend, ConnectionRecord, Limiter, Store } from '../store/index.ts';
import type { ServiceRuntime } from './build-tenants.ts';
import type { Caller } from './contract.ts';

export interface CallSafeguardsDependencies {
  readonly config: Config;
  readonly clock: Clock;
  readonly store: Pick<Store, 'connections'>;
  /** Shared limiter (Redis); default one in memory. */
  readonly limiter?: Limiter;
  /** Shared result cache backend (Redis); default a byte-bounded LRU in memory (`config.cache.maxBytes`). */
  readonly cacheBackend?: CacheBackend;
}

/** A cacheable read after its lookup: the cached result (a hit) or what `remember` needs to store the answer. */
export interface PreparedRead {
  readonly slot: CacheSlot;
  readonly generation: number;
  readonly ttlSeconds: number;
  readonly cached: CachedPage | undefined;
}

/** A cache hit in the form of a fresh upstream page: headers kept (`link`), JSON re-read from the scrubbed text. */
export interface CachedPage {
  readonly headers: Readonly<Record<string, string>>;
  readonly json: unknown;
  readonly result: ToolResult;
}

/** What the upstream call of a tool needs from the retry policy: the tool's safety and the service's caps. */
export interface UpstreamCallPolicy {
  readonly safety: ToolSafety;
  readonly retry: { readonly maxRetries: number; readonly maxWaitSeconds: number };
}

const defaultRetry = { maxRetries: 2, maxWaitSeconds: 10 } as const;

/**
 * The limits (DESIGN.md §7 step 4) and the safe-read cache (§8) of `callTool`, kept here so the gateway calls
 * them in one line each:
 * - `admitLimits` after argument validation and before approval; `release` when the call ends;
 * - `prepareRead` after policy, before the credential: a hit skips credential and upstream;
 * - `remember` after shaping a fresh answer; `invalidateBeforeWrite` / `invalidateAfterWrite` around a write.
 * Cacheable = the toolset has `cache`, the tool is `safe` and its method GET or HEAD. The cache key's connection
 * is the OAuth connection (its id and granted scopes) or the service's static credential.
 */
export function createCallSafeguards(deps: CallSafeguardsDependencies) {
  const { config, store } = deps;
  const limits = createCallLimits(config.tenants, deps.limiter ?? createMemoryLimiter(deps.clock));
  const cache: ResultCache = createResultCache(
    deps.cacheBackend ?? createMemoryCacheBackend({ clock: deps.clock, maxBytes: config.cache.maxBytes }),
  );
  const ttlByToolset = new Map<string, number>();
  const cachingTenants = new Set<string>();
  const retryByService = new Map<string, UpstreamCallPolicy['retry']>();
  for (const tenant of config.tenants) {
    for (const toolset of tenant.toolsets) {
      if (toolset.cache === undefined) continue;
      ttlByToolset.set(`${tenant.id}/${toolset.id}`, toolset.cache.ttlSeconds);
      cachingTenants.add(tenant.id);
    }
    for (const service of tenant.services) retryByService.set(`${tenant.id}/${service.id}`, service.retry);
  }

  /**
   * The credential identity a cached read belongs to, or undefined when there is no usable one (no caching).
   * `known`: the caller's connection as the policy step read it this call (null: none), so it is not read again.
   */
  async function connectionOf(
    caller: Caller,
    service: ServiceRuntime,
    known: ConnectionRecord | null | undefined,
  ): Promise<{ id: string; scopes: readonly string[] } | undefined> {
    if (service.auth.type !== 'oauth2') return { id: `service:${service.id}`, scopes: [] };
    if (store.connections === undefined) return undefined;
    // The caller's own subject only, as for the credential (guard-tool-call): no borrowed `shared` account.
    const connection =
      known === undefined ? await store.connections.find(caller.tenant, service.id, caller.subject) : known;
    return connection ? { id: connection.id, scopes: connection.scopes } : undefined;
  }

  return {
    /** Step 4: admits the call under every configured limit or throws `rate_limited`. */
    admitLimits(caller: Caller, tool: NamedTool, service: ServiceRuntime | undefined): Promise<ReleaseLimits> {
      const retry = retryByService.get(`${caller.tenant}/${tool.service}`) ?? defaultRetry;
      const timeoutMs = service?.timeoutMs ?? 30_000;
      // A concurrency slot outlives the longest call: every attempt plus the waits between them.
      const leaseMs = (retry.maxRetries + 1) * timeoutMs + retry.maxRetries * retry.maxWaitSeconds * 1000 + 5_000;
      return limits.admit(caller, tool.name, leaseMs);
    },

    upstreamPolicy(caller: Caller, tool: NamedTool): UpstreamCallPolicy {
      return {
        safety: tool.tool.safety,
        retry: retryByService.get(`${caller.tenant}/${tool.service}`) ?? defaultRetry,
      };
    },

    async prepareRead(
      caller: Caller,
      tool: NamedTool,
      service: ServiceRuntime,
      args: Readonly<Record<string, unknown>>,
      known?: ConnectionRecord | null,
    ): Promise<PreparedRead | undefined> {
      const ttlSeconds = ttlByToolset.get(`${caller.tenant}/${caller.toolset}`);
      const method = tool.tool.request.method;
      if (ttlSeconds === undefined || tool.tool.safety !== 'safe' || (method !== 'GET' && method !== 'HEAD')) {
        return undefined;
      }
      const connection = await connectionOf(caller, service, known);
      if (connection === undefined) return undefined;
      const slot = cache.slotOf(
        {
          tenant: caller.tenant,
          service: service.id,
          connection: connection.id,
          subject: caller.subject,
          scopes: connection.scopes,
          tool: tool.name,
        },
        args,
      );
      const found = await cache.lookup(slot);
      return { slot, generation: found.generation, ttlSeconds, cached: found.answer && toCachedPage(found.answer) };
    },

    remember(read: PreparedRead, result: ToolResult, headers: Readonly<Record<string, string>>): Promise<void> {
      return cache.store(read.slot, read.generation, result, headers, read.ttlSeconds);
    },

    /**
     * Before a write runs: invalidates the connection's cached reads of the service (CA-03) and throws when the
     * shared cache cannot be reached, so a write never runs while stale reads could outlive it.
     */
    async invalidateBeforeWrite(
      caller: Caller,
      tool: NamedTool,
      service: ServiceRuntime,
      known?: ConnectionRecord | null,
    ): Promise<void> {
      if (!cachingTenants.has(caller.tenant) || tool.tool.safety === 'safe') return;
      const connection = await connectionOf(caller, service, known);
      if (connection !== undefined)
        await cache.invalidate({ tenant: caller.tenant, service: service.id, connection: connection.id });
    },

    /** After a write was sent: invalidates again, so reads that raced with the write are dropped. Never throws. */
    async invalidateAfterWrite(
      caller: Caller,
      tool: NamedTool,
      service: ServiceRuntime,
      known?: ConnectionRecord | null,
    ): Promise<void> {
      try {
        await this.invalidateBeforeWrite(caller, tool, service, known);
      } catch {
        // The entry TTL bounds staleness when the shared cache is gone right now.
      }
    },
  };
}

export type CallSafeguards = ReturnType<typeof createCallSafeguards>;

function toCachedPage(answer: CachedAnswer): CachedPage {
  let json: unknown;
  if (answer.result.structuredContent !== undefined) {
    try {
      json = JSON.parse(answer.result.text);
    } catch {
      json = undefined;
    }
  }
  return { headers: answer.headers, json, result: answer.result };
}
