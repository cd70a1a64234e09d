import type { Telemetry } from '../audit/index.ts';
import type { CachedAnswer, ResultCache } from '../shaping/index.ts';
import type { CallContext } from './call-context.ts';
import { toolOf } from './call-context.ts';
import type { FetchedPage } from './shape-result.ts';

export interface ReadCacheDependencies {
  readonly cache: ResultCache;
  readonly telemetry?: Pick<Telemetry, 'cacheLookup'>;
}

/**
 * Step "cache" of `callTool` (DESIGN.md §8): looks a cacheable read up and, on a hit, sets the call's first page
 * (no credential, no upstream call; it is shaped again for this caller). Returns true on a hit. Cacheable = the
 * toolset carries a cache TTL, the tool is `safe` and its method GET or HEAD, and the call has a credential
 * identity: the caller's OAuth connection as the decide step read it (its id and granted scopes), or the
 * service's static credential.
 */
export async function readCache(deps: ReadCacheDependencies, call: CallContext): Promise<boolean> {
  const { tool, service } = toolOf(call);
  const ttlSeconds = call.toolset?.cacheTtlSeconds;
  const method = tool.tool.request.method;
  if (ttlSeconds === undefined || tool.tool.safety !== 'safe' || (method !== 'GET' && method !== 'HEAD')) return false;
  const identity = identityOf(call);
  if (identity === undefined) return false;
  const slot = deps.cache.slotOf(
    {
      tenant: call.caller.tenant,
      service: service.id,
      connection: identity.id,
      subject: call.caller.subject,
      scopes: identity.scopes,
      tool: tool.name,
    },
    call.decision?.args ?? {},
  );
  const found = await deps.cache.lookup(slot);
  call.read = { slot, generation: found.generation, ttlSeconds };
  deps.telemetry?.cacheLookup({ tenant: call.caller.tenant, toolset: call.caller.toolset, hit: !!found.answer });
  if (found.answer === undefined) return false;
  call.cached = true;
  call.page = toCachedPage(found.answer);
  return true;
}

/** After a fresh answer of a cacheable read: stores its scrubbed result and headers for the toolset's TTL. */
export async function rememberRead(cache: ResultCache, call: CallContext): Promise<void> {
  if (call.read === undefined || call.page === undefined) return;
  await cache.store(call.read.slot, call.read.generation, call.page.result, call.page.headers, call.read.ttlSeconds);
}

/**
 * Around a write (CA-03): drops the connection's cached reads of the service. Before the write it throws when the
 * shared cache cannot be reached, so a write never runs while stale reads could outlive it; after the write
 * (`afterWrite`) it never throws (the entry TTL bounds staleness when the shared cache is gone right now).
 */
export async function invalidateReads(cache: ResultCache, call: CallContext, afterWrite = false): Promise<void> {
  const { tool, service } = toolOf(call);
  if (!call.tenant?.caching || tool.tool.safety === 'safe') return;
  const identity = identityOf(call);
  if (identity === undefined) return;
  try {
    await cache.invalidate({ tenant: call.caller.tenant, service: service.id, connection: identity.id });
  } catch (error) {
    if (!afterWrite) throw error;
  }
}

/** The credential identity a cached read belongs to, or undefined when there is no usable one (no caching). */
function identityOf(call: CallContext): { id: string; scopes: readonly string[] } | undefined {
  const { service } = toolOf(call);
  if (service.auth.type !== 'oauth2') return { id: `service:${service.id}`, scopes: [] };
  return call.connection ? { id: call.connection.id, scopes: call.connection.scopes } : undefined;
}

/** A cache hit in the form of a fresh upstream page: headers kept (`link`), JSON re-read from the scrubbed text. */
function toCachedPage(answer: CachedAnswer): FetchedPage {
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
