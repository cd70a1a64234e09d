import { describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import { readThrough as read, runRandomisedIsolation } from './_run-cache-isolation.ts';
import { createMemoryCacheBackend } from './create-memory-cache-backend.ts';
import { type CacheScope, cacheTtlMs, createResultCache } from './create-result-cache.ts';

function manualClock(): Clock & { advance(ms: number): void } {
  let t = 0;
  return {
    now: () => t,
    monotonic: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

const scope = (over: Partial<CacheScope> = {}): CacheScope => ({
  tenant: 'acme',
  service: 'pets',
  connection: 'service:pets',
  subject: 'alice',
  scopes: ['read'],
  tool: 'pets_list',
  ...over,
});

describe('createResultCache', () => {
  it('CA-01 two tenants and two subjects with identical arguments get separate upstream calls', async () => {
    const cache = createResultCache(createMemoryCacheBackend({ clock: manualClock() }));
    let upstream = 0;
    const answers: string[] = [];
    for (const tenant of ['acme', 'globex'])
      for (const subject of ['alice', 'bob'])
        for (let i = 0; i < 3; i++) {
          const { text } = await read(
            cache,
            scope({ tenant, subject }),
            { id: 1 },
            () => `${tenant}/${subject}/${++upstream}`,
          );
          answers.push(text);
        }
    expect(upstream).toBe(4);
    expect(answers).toEqual([
      ...Array(3).fill('acme/alice/1'),
      ...Array(3).fill('acme/bob/2'),
      ...Array(3).fill('globex/alice/3'),
      ...Array(3).fill('globex/bob/4'),
    ]);
  });

  it('CA-01 zero cross-tenant hits over 10,000 randomised calls (memory backend)', async () => {
    const outcome = await runRandomisedIsolation(createMemoryCacheBackend({ clock: manualClock() }), 10_000);
    expect(outcome.crossHits).toBe(0);
    expect(outcome.maxUpstreamPerPair).toBe(1);
    expect(outcome.hits).toBe(10_000 - outcome.pairs);
  });

  it('keys ignore argument key order and scope order, and hold no argument value', () => {
    const cache = createResultCache(createMemoryCacheBackend({ clock: manualClock() }));
    const a = cache.slotOf(scope({ scopes: ['x', 'y'] }), { b: 'secret-value', a: { d: 1, c: 2 } });
    const b = cache.slotOf(scope({ scopes: ['y', 'x'] }), { a: { c: 2, d: 1 }, b: 'secret-value' });
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).not.toContain('secret-value');
    expect(cache.slotOf(scope(), JSON.parse('{"__proto__":1}'))).not.toEqual(cache.slotOf(scope(), {}));
  });

  it('CA-03 invalidating a connection hides its cached reads of that service only', async () => {
    const cache = createResultCache(createMemoryCacheBackend({ clock: manualClock() }));
    let n = 0;
    const pets = scope();
    const other = scope({ service: 'orders', tool: 'orders_list' });
    const otherConnection = scope({ connection: 'conn-2' });
    for (const s of [pets, other, otherConnection]) await read(cache, s, {}, () => `v${++n}`);
    await cache.invalidate(pets);
    expect(await read(cache, pets, {}, () => `v${++n}`)).toEqual({ text: 'v4', hit: false });
    expect(await read(cache, other, {}, () => 'no')).toEqual({ text: 'v2', hit: true });
    expect(await read(cache, otherConnection, {}, () => 'no')).toEqual({ text: 'v3', hit: true });
  });

  it('CA-03 a read that started before an invalidation does not store its (stale) answer', async () => {
    const cache = createResultCache(createMemoryCacheBackend({ clock: manualClock() }));
    const slot = cache.slotOf(scope(), {});
    const before = await cache.lookup(slot);
    await cache.invalidate(scope());
    await cache.store(slot, before.generation, { text: 'stale' }, {}, 60);
    expect((await cache.lookup(slot)).answer?.result).toBeUndefined();
  });

  it('CA-02 private, no-store and no-cache answers are not stored; max-age shortens the TTL', async () => {
    const clock = manualClock();
    const cache = createResultCache(createMemoryCacheBackend({ clock }));
    for (const cacheControl of ['private', 'no-store', 'no-cache', 'max-age=60, private', 'max-age=0']) {
      const slot = cache.slotOf(scope({ tool: cacheControl }), {});
      await cache.store(slot, 0, { text: 'x' }, { 'cache-control': cacheControl }, 60);
      expect({ cacheControl, result: (await cache.lookup(slot)).answer?.result }).toEqual({
        cacheControl,
        result: undefined,
      });
    }
    const slot = cache.slotOf(scope(), {});
    await cache.store(slot, 0, { text: 'x' }, { 'cache-control': 'public, max-age=5' }, 60);
    clock.advance(4_999);
    expect((await cache.lookup(slot)).answer?.result).toEqual({ text: 'x' });
    clock.advance(1);
    expect((await cache.lookup(slot)).answer?.result).toBeUndefined();
  });
});

describe('cacheTtlMs', () => {
  it.each([
    [{}, 60_000],
    [{ 'cache-control': 'public, max-age=30' }, 30_000],
    [{ 'cache-control': 'max-age=300' }, 60_000],
    [{ 'cache-control': 'max-age=30, s-maxage=10' }, 10_000],
    [{ 'cache-control': 'Private' }, 0],
    [{ 'cache-control': 'no-store' }, 0],
    [{ 'cache-control': 'private="set-cookie"' }, 0],
    [{ pragma: 'no-cache' }, 0],
    [{ vary: 'accept, *' }, 0],
    [{ vary: 'accept' }, 60_000],
  ])('%j -> %d ms', (headers, expected) => {
    expect(cacheTtlMs(headers, 60)).toBe(expected);
  });
});

describe('createMemoryCacheBackend', () => {
  it('evicts the least recently used entries once over its byte budget', async () => {
    const backend = createMemoryCacheBackend({ clock: manualClock(), maxBytes: 8 * 1024 });
    const value = 'x'.repeat(400); // ~1 KiB per entry with overhead
    for (let i = 0; i < 6; i++) await backend.put('g', 0, `k${i}`, value, 60_000);
    await backend.lookup('g', 'k0'); // k0 becomes the most recent
    for (let i = 6; i < 12; i++) await backend.put('g', 0, `k${i}`, value, 60_000);
    expect(backend.size().bytes).toBeLessThanOrEqual(8 * 1024);
    expect((await backend.lookup('g', 'k0')).value).toBe(value);
    expect((await backend.lookup('g', 'k1')).value).toBeUndefined();
    expect((await backend.lookup('g', 'k11')).value).toBe(value);
  });

  it('does not store an entry larger than an eighth of the budget', async () => {
    const backend = createMemoryCacheBackend({ clock: manualClock(), maxBytes: 8 * 1024 });
    await backend.put('g', 0, 'big', 'x'.repeat(600), 60_000);
    expect((await backend.lookup('g', 'big')).value).toBeUndefined();
  });
});
