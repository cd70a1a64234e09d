import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisCacheBackend, openRedis } from '../store/index.ts';
import { readThrough, runRandomisedIsolation } from './_run-cache-isolation.ts';
import { createResultCache } from './create-result-cache.ts';

const url = process.env['GATEHOUSE_TEST_REDIS'];
if (!url) console.warn('GATEHOUSE_TEST_REDIS is not set: skipping the Redis result cache suite (CA-01, CA-03)');

describe.skipIf(!url)('createResultCache over Redis', () => {
  let first: Redis;
  let second: Redis;
  beforeAll(async () => {
    first = await openRedis(url as string);
    second = await openRedis(url as string);
  });
  afterAll(() => {
    first?.disconnect();
    second?.disconnect();
  });

  it('CA-01 zero cross-tenant hits over 10,000 randomised calls (Redis backend)', async () => {
    const outcome = await runRandomisedIsolation(createRedisCacheBackend(first), 10_000, 11);
    expect(outcome.crossHits).toBe(0);
    expect(outcome.maxUpstreamPerPair).toBe(1);
    expect(outcome.hits).toBe(10_000 - outcome.pairs);
  });

  it('CA-03 a write on one process invalidates the connection reads cached by another', async () => {
    const a = createResultCache(createRedisCacheBackend(first));
    const b = createResultCache(createRedisCacheBackend(second));
    const tenant = `ca03-${Date.now()}`;
    const scope = {
      tenant,
      service: 'pets',
      connection: 'service:pets',
      subject: 'alice',
      scopes: [],
      tool: 'pets_list',
    };
    expect(await readThrough(a, scope, { id: 1 }, () => 'v1')).toEqual({ text: 'v1', hit: false });
    expect(await readThrough(b, scope, { id: 1 }, () => 'no')).toEqual({ text: 'v1', hit: true });
    await b.invalidate(scope);
    expect(await readThrough(a, scope, { id: 1 }, () => 'v2')).toEqual({ text: 'v2', hit: false });
  });

  it('Redis keys are the tenant id and hashes only', async () => {
    const cache = createResultCache(createRedisCacheBackend(first));
    const tenant = `keys-${Date.now()}`;
    const scope = {
      tenant,
      service: 'pets',
      connection: 'conn-9',
      subject: 'alice@example.com',
      scopes: ['s'],
      tool: 't',
    };
    await readThrough(cache, scope, { token: 'argument-value-123' }, () => 'v');
    await cache.invalidate(scope);
    const keys = await first.keys(`gh:*{${tenant}:*`);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toMatch(new RegExp(`^gh:(c|cg):\\{${tenant}:[A-Za-z0-9_-]{32}\\}(:\\d+:[A-Za-z0-9_-]{43})?$`));
    }
  });
});
