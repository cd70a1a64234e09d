import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import { openRedis } from '../store/index.ts';
import { createRedisResultStore } from './create-redis-result-store.ts';
import { createResultHandles } from './create-result-handles.ts';

const url = process.env['GATEHOUSE_TEST_REDIS'];
const quotas = { maxBytesPerTenant: 1024 * 1024, maxBytesPerSubject: 1024 * 1024 };

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
    const writer = createResultHandles({ store: createRedisResultStore(first, clock, quotas), clock, ttlMs: 60_000 });
    const reader = createResultHandles({ store: createRedisResultStore(second, clock, quotas), clock });
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

  it('MT-08 (review finding 5c) over Redis, tenant B filling its share never evicts tenant A, across processes', async () => {
    const clock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };
    // Two processes, each with its own store over the same Redis: the caps are counted in Redis, not per process.
    const capped = { maxBytesPerTenant: 200_000, maxBytesPerSubject: 150_000 };
    const one = createResultHandles({ store: createRedisResultStore(first, clock, capped), clock, ttlMs: 60_000 });
    const two = createResultHandles({ store: createRedisResultStore(second, clock, capped), clock, ttlMs: 60_000 });
    const tenantA = { tenant: `a-${Date.now()}`, subject: 'alice', clientKey: 'ka' };
    const bob = { tenant: `b-${Date.now()}`, subject: 'bob', clientKey: 'kb' };
    const carol = { ...bob, subject: 'carol', clientKey: 'kc' };
    const text = (n: number) => JSON.stringify({ pad: 'x'.repeat(n) });
    const kept = await one.create(tenantA, { kind: 'json', text: text(40_000) });
    // Bob's four 80 KB (as counted) results: the per-subject cap of 150 KB keeps only his newest.
    const bobs = [];
    for (let i = 0; i < 4; i++) bobs.push(await (i % 2 ? one : two).create(bob, { kind: 'json', text: text(40_000) }));
    await expect(two.load(bob, bobs[0]!.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(two.load(bob, bobs[3]!.id)).resolves.toMatchObject({ id: bobs[3]!.id });
    // Carol's two 65 KB results (within her 150 KB) push the tenant over 200 KB: tenant B's oldest (Bob's) goes,
    // never tenant A's.
    await one.create(carol, { kind: 'json', text: text(32_500) });
    await two.create(carol, { kind: 'json', text: text(32_500) });
    await expect(two.load(bob, bobs[3]!.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(one.load(tenantA, kept.id)).resolves.toMatchObject({ id: kept.id });
    // A result over the subject cap by itself is refused, not stored in place of others.
    await expect(one.create(bob, { kind: 'json', text: text(100_000) })).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    await expect(two.load(tenantA, kept.id)).resolves.toMatchObject({ id: kept.id });
  });
});
