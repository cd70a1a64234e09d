import type { CacheBackend } from '../store/index.ts';
import { type CacheScope, createResultCache, type ResultCache } from './create-result-cache.ts';

/** Test support for the result cache suites (memory and Redis backends); not part of the public surface. */

/** A read through the cache: a miss calls `upstream` and stores its answer. Returns the answer and whether it hit. */
export async function readThrough(
  cache: ResultCache,
  s: CacheScope,
  args: Record<string, unknown>,
  upstream: () => string,
) {
  const slot = cache.slotOf(s, args);
  const found = await cache.lookup(slot);
  if (found.answer) return { text: found.answer.result.text, hit: true };
  const text = upstream();
  await cache.store(slot, found.generation, { text }, {}, 60);
  return { text, hit: false };
}

/**
 * CA-01 over any backend: random tenants, subjects, tools and arguments, each upstream answer tagged with who
 * asked. A hit must return the caller's own tag; every (who, what) pair costs exactly one upstream call.
 */
export async function runRandomisedIsolation(backend: CacheBackend, calls: number, seed = 7) {
  const cache = createResultCache(backend);
  let state = seed;
  const random = (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  const upstreamCalls = new Map<string, number>();
  let crossHits = 0;
  let hits = 0;
  const run = `${Date.now()}-${Math.random()}`;
  for (let i = 0; i < calls; i++) {
    const tenant = random(2) === 0 ? `a-${run}` : `b-${run}`;
    const subject = random(2) === 0 ? 'alice' : 'bob';
    const scopes = random(4) === 0 ? ['read', 'admin'] : ['read'];
    const tool = random(2) === 0 ? 'pets_list' : 'pets_get';
    const args = random(2) === 0 ? { id: random(20), q: { b: 1, a: 2 } } : { q: { a: 2, b: 1 }, id: random(20) };
    const who = `${tenant}|${subject}|${scopes.join(' ')}`;
    const what = `${tool}|${args.id}`;
    const { text, hit } = await readThrough(
      cache,
      { tenant, service: 'pets', connection: 'service:pets', subject, scopes, tool },
      args,
      () => {
        upstreamCalls.set(`${who}|${what}`, (upstreamCalls.get(`${who}|${what}`) ?? 0) + 1);
        return `${who}|${what}`;
      },
    );
    if (hit) hits++;
    if (text !== `${who}|${what}`) crossHits++;
  }
  return { crossHits, hits, maxUpstreamPerPair: Math.max(...upstreamCalls.values()), pairs: upstreamCalls.size };
}
