import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import { openRedis } from '../store/index.ts';
import { createRedisResultStore } from './create-redis-result-store.ts';
import { createResultHandles } from './create-result-handles.ts';

const url = process.env['GATEHOUSE_TEST_REDIS'];

describe.skipIf(!url)('result handles over Redis', () => {
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

  it('MC-05 a handle made by one process is read by another, only by its owner, and expires', async () => {
    let now = Date.now();
    const clock: Clock = { now: () => now, monotonic: () => now };
    const writer = createResultHandles({ store: createRedisResultStore(first, clock), clock, ttlMs: 60_000 });
    const reader = createResultHandles({ store: createRedisResultStore(second, clock), clock });
    const owner = { tenant: 'acme', subject: 'alice', clientKey: 'k1' };
    const text = JSON.stringify({ items: [1, 2, 3] });
    const { id } = await writer.create(owner, { kind: 'json', text });
    const loaded = await reader.load(owner, id);
    expect(loaded.text).toBe(text);
    expect(loaded.value).toEqual({ items: [1, 2, 3] });
    await expect(reader.load({ ...owner, subject: 'bob' }, id)).rejects.toMatchObject({ code: 'not_found' });
    now += 60_000;
    await expect(reader.load(owner, id)).rejects.toMatchObject({ code: 'not_found' });
  });
});
