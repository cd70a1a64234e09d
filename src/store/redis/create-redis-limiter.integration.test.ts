import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LimitRule } from '../shared-state-port.ts';
import { createRedisLimiter } from './create-redis-limiter.ts';
import { openRedis } from './open-redis.ts';

const url = process.env['GATEHOUSE_TEST_REDIS'];
if (!url) console.warn('GATEHOUSE_TEST_REDIS is not set: skipping the Redis limiter suite (RL-02)');
const child = resolve(import.meta.dirname, 'fixtures', 'admit-concurrently.ts');

function startChild(count: number, rules: readonly LimitRule[]) {
  const proc: ChildProcessWithoutNullStreams = spawn(process.execPath, [
    '--import',
    'tsx',
    child,
    url ?? '',
    String(count),
    JSON.stringify(rules),
  ]);
  let out = '';
  let err = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const parts = out.split('\n');
    out = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  const nextLine = () =>
    new Promise<string>((done, fail) => {
      const check = () => (lines.length > 0 ? done(lines.shift() as string) : waiters.push(check));
      proc.once('exit', (code) =>
        lines.length > 0 ? done(lines.shift() as string) : fail(new Error(`child exited ${code}: ${err}`)),
      );
      check();
    });
  return { proc, nextLine };
}

describe.skipIf(!url)('createRedisLimiter (Redis)', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = await openRedis(url as string);
  });
  afterAll(() => redis?.disconnect());

  const tenant = () => `rl-${randomBytes(6).toString('hex')}`;

  it('RL-02 3 processes x 200 concurrent calls on one key with limit L: exactly L admitted', async () => {
    const limit = 37;
    // One per minute: nothing refills while the test runs, so every admission comes out of the burst of L.
    const rules: LimitRule[] = [
      { kind: 'rate', key: `${tenant()}:ts:s`, limit: 'toolset', perMinute: 1, burst: limit },
    ];
    const children = [0, 1, 2].map(() => startChild(200, rules));
    for (const c of children) expect(await c.nextLine()).toBe('ready');
    for (const c of children) c.proc.stdin.write('go\n');
    const admitted = (await Promise.all(children.map((c) => c.nextLine()))).map(Number);
    expect(admitted.reduce((a, b) => a + b, 0)).toBe(limit);
  });

  it('RL-02 concurrency slots across 3 processes: exactly maxInFlight admitted while none is released', async () => {
    const rules: LimitRule[] = [
      {
        kind: 'concurrency',
        key: `${tenant()}:ts:s:inflight:k:a`,
        limit: 'concurrency.perKey',
        maxInFlight: 5,
        leaseMs: 30_000,
      },
    ];
    const children = [0, 1, 2].map(() => startChild(50, rules));
    for (const c of children) expect(await c.nextLine()).toBe('ready');
    for (const c of children) c.proc.stdin.write('go\n');
    const admitted = (await Promise.all(children.map((c) => c.nextLine()))).map(Number);
    expect(admitted.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('RL-01 burst and retry-after on Redis time; a refusal charges no other rule', async () => {
    const limiter = createRedisLimiter(redis);
    const t = tenant();
    const narrow: LimitRule = { kind: 'rate', key: `${t}:ts:s:tool:x`, limit: 'tool', perMinute: 6, burst: 2 };
    const wide: LimitRule = { kind: 'rate', key: `${t}:t`, limit: 'tenant', perMinute: 1, burst: 3 };
    expect((await limiter.admit([wide, narrow])).admitted).toBe(true);
    expect((await limiter.admit([wide, narrow])).admitted).toBe(true);
    // Burst of 2 spent: the next fits in 10 s (6 per minute).
    const refused = await limiter.admit([wide, narrow]);
    expect(refused).toMatchObject({ admitted: false, limit: 'tool' });
    if (refused.admitted) throw new Error('expected a refusal');
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(9);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(10);
    // `wide` was charged twice, not three times: one more fits.
    expect((await limiter.admit([wide])).admitted).toBe(true);
    expect(await limiter.admit([wide])).toMatchObject({ admitted: false, limit: 'tenant', retryAfterSeconds: 60 });
  });

  it('RL-05 a concurrency refusal carries a retry time, and a released slot is free again', async () => {
    const limiter = createRedisLimiter(redis);
    const slot: LimitRule = {
      kind: 'concurrency',
      key: `${tenant()}:ts:s:inflight:tool:x`,
      limit: 'concurrency.perTool',
      maxInFlight: 1,
      leaseMs: 30_000,
    };
    const first = await limiter.admit([slot]);
    expect(await limiter.admit([slot])).toEqual({
      admitted: false,
      limit: 'concurrency.perTool',
      retryAfterSeconds: 1,
    });
    if (!first.admitted) throw new Error('expected an admission');
    first.release();
    await new Promise((r) => setTimeout(r, 50));
    expect((await limiter.admit([slot])).admitted).toBe(true);
  });

  it('a slot whose release never comes is freed when its lease ends', async () => {
    const limiter = createRedisLimiter(redis);
    const slot: LimitRule = {
      kind: 'concurrency',
      key: `${tenant()}:ts:s:inflight:k:b`,
      limit: 'concurrency.perKey',
      maxInFlight: 1,
      leaseMs: 100,
    };
    expect((await limiter.admit([slot])).admitted).toBe(true);
    expect((await limiter.admit([slot])).admitted).toBe(false);
    await new Promise((r) => setTimeout(r, 150));
    expect((await limiter.admit([slot])).admitted).toBe(true);
  });

  it('Redis keys carry only the rule key (ids and names) under a tenant hash tag', async () => {
    const t = tenant();
    await createRedisLimiter(redis).admit([
      { kind: 'rate', key: `${t}:ts:s`, limit: 'toolset', perMinute: 60, burst: 1 },
    ]);
    expect(await redis.keys(`gh:rl:{${t}}*`)).toEqual([`gh:rl:{${t}}:ts:s`]);
  });

  it('fails closed with store_unavailable when Redis is gone', async () => {
    const other = await openRedis(url as string);
    const limiter = createRedisLimiter(other);
    other.disconnect();
    await expect(
      limiter.admit([{ kind: 'rate', key: `${tenant()}:t`, limit: 'tenant', perMinute: 60, burst: 1 }]),
    ).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});
