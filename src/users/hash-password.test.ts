import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { GatehouseError } from '../core/index.ts';
import { hashPassword, passwordHashConcurrency, passwordHashLoad, verifyPassword } from './hash-password.ts';

describe('password hashing under a flood of sign-ins', () => {
  it('runs at most `running` scrypt derivations at once, so the libuv pool keeps threads for other work', async () => {
    // Half the production cost (still tens of milliseconds a hash): enough to see the pool's order, kinder to CI.
    const stored = await hashPassword('correct horse battery staple', { N: 2 ** 14, r: 8, p: 1 });
    let peak = 0;
    const flood = Array.from({ length: 8 }, () =>
      verifyPassword('wrong horse battery staple', stored).then((matches) => {
        peak = Math.max(peak, passwordHashLoad().running);
        return matches;
      }),
    );
    const load = passwordHashLoad();
    expect(load).toEqual({ running: passwordHashConcurrency.running, waiting: 8 - passwordHashConcurrency.running });
    // A file-system call (the same pool) is served while the flood is in flight: with all eight derivations on the
    // pool's four threads it would wait for at least one of them to finish.
    let firstHashDone = false;
    void Promise.race(flood).then(() => {
      firstHashDone = true;
    });
    await stat(import.meta.dirname);
    expect(firstHashDone).toBe(false);
    expect(await Promise.all(flood)).toEqual(Array(8).fill(false));
    expect(peak).toBeLessThanOrEqual(passwordHashConcurrency.running);
    expect(passwordHashLoad()).toEqual({ running: 0, waiting: 0 });
  }, 120_000);

  it('refuses at once (rate_limited) when more derivations wait than the queue holds, and recovers', async () => {
    const cheap = { N: 2 ** 10, r: 8, p: 1 };
    const stored = await hashPassword('correct horse battery staple', cheap);
    const total = passwordHashConcurrency.running + passwordHashConcurrency.waiting + 3;
    const results = await Promise.allSettled(
      Array.from({ length: total }, () => verifyPassword('correct horse battery staple', stored)),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(3);
    for (const r of refused) expect(((r as PromiseRejectedResult).reason as GatehouseError).code).toBe('rate_limited');
    expect(results.filter((r) => r.status === 'fulfilled' && r.value === true)).toHaveLength(total - 3);
    expect(passwordHashLoad()).toEqual({ running: 0, waiting: 0 });
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
  }, 120_000);
});
