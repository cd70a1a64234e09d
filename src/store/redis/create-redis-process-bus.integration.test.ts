import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis } from '../../../test/support/start-fleet.ts';
import type { ProcessBus } from '../shared-state-port.ts';
import { createRedisProcessBus } from './create-redis-process-bus.ts';
import { openRedis } from './open-redis.ts';

const url = process.env['GATEHOUSE_TEST_REDIS'];
if (!url) console.warn('GATEHOUSE_TEST_REDIS is not set: skipping the Redis process bus suite');
const limits = { ackTimeoutMs: 2_000, replyTimeoutMs: 10_000, maxBytes: 1_000 };

let redis: Redis;
let one: ProcessBus;
let two: ProcessBus;

beforeAll(async () => {
  if (!url) return;
  redis = await openRedis(url);
  one = await createRedisProcessBus(redis);
  two = await createRedisProcessBus(redis);
});

afterAll(async () => {
  await one?.close();
  await two?.close();
  redis?.disconnect();
});

describe.skipIf(!url)('createRedisProcessBus()', () => {
  it('delivers a request to the process at an address and brings back its reply', async () => {
    two.serve(async (body) => `two got ${body}`);
    expect(one.address).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(one.address).not.toBe(two.address);
    expect(await one.request(two.address, 'hello', limits)).toBe('two got hello');
  });

  it('refuses a body over the bound before sending, and a reply over it as payload_too_large', async () => {
    let served = 0;
    two.serve(async () => {
      served++;
      return 'x'.repeat(limits.maxBytes + 1);
    });
    await expect(one.request(two.address, 'é'.repeat(501), limits)).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    expect(served).toBe(0);
    await expect(one.request(two.address, 'small', limits)).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(served).toBe(1);
  });

  it('answers store_unavailable at once when no process listens at the address', async () => {
    const started = performance.now();
    await expect(one.request(randomBytes(12).toString('base64url'), 'hello', limits)).rejects.toMatchObject({
      code: 'store_unavailable',
      details: { reason: 'process_gone' },
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('answers store_unavailable when the handler fails', async () => {
    two.serve(async () => {
      throw new Error('broken');
    });
    await expect(one.request(two.address, 'hello', limits)).rejects.toMatchObject({
      code: 'store_unavailable',
      details: { reason: 'process_silent' },
    });
  });

  it('answers store_unavailable within about a second when the serving process is killed (SIGKILL) after it acknowledged', async () => {
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      resolve(import.meta.dirname, 'fixtures', 'serve-process-bus.ts'),
      url ?? '',
    ]);
    try {
      const lines: string[] = [];
      const waiters: (() => void)[] = [];
      let rest = '';
      child.stdout.on('data', (chunk: Buffer) => {
        const parts = (rest + chunk.toString()).split('\n');
        rest = parts.pop() ?? '';
        lines.push(...parts);
        for (const wake of waiters.splice(0)) wake();
      });
      const nextLine = () =>
        new Promise<string>((done) => {
          const check = () => (lines.length > 0 ? done(lines.shift() as string) : waiters.push(check));
          check();
        });
      const address = await nextLine();
      const pending = one.request(address, 'wait', { ...limits, replyTimeoutMs: 60_000 });
      expect(await nextLine()).toBe('serving wait');
      const killed = performance.now();
      child.kill('SIGKILL');
      await expect(pending).rejects.toMatchObject({ code: 'store_unavailable', details: { reason: 'process_gone' } });
      const waited = performance.now() - killed;
      console.log(`process bus: a killed holder was noticed after ${Math.round(waited)} ms`);
      expect(waited).toBeLessThan(5_000);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});

const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!url || !hasRedisServer)('createRedisProcessBus() across a Redis restart', () => {
  it('fails while Redis is down (store_unavailable) and serves again once it is back: the listener resubscribes', async () => {
    const own = await startPrivateRedis();
    const connection = await openRedis(own.url);
    const server = await createRedisProcessBus(connection);
    const client = await createRedisProcessBus(connection);
    server.serve(async (body) => `back: ${body}`);
    try {
      expect(await client.request(server.address, 'before', limits)).toBe('back: before');
      await own.restart(300);
      const started = performance.now();
      let answer: string | undefined;
      const failures = new Set<string>();
      while (answer === undefined && performance.now() - started < 15_000) {
        try {
          answer = await client.request(server.address, 'after', limits);
        } catch (error) {
          failures.add((error as { code?: string }).code ?? 'thrown');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      expect(answer).toBe('back: after');
      expect([...failures].filter((code) => code !== 'store_unavailable')).toEqual([]);
      console.log(`process bus: serving again ${Math.round(performance.now() - started)} ms after Redis restarted`);
    } finally {
      await server.close();
      await client.close();
      connection.disconnect();
      await own.stop();
    }
  }, 40_000);
});
