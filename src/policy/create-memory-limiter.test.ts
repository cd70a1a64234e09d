import { describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import type { LimitRule } from '../store/index.ts';
import { createMemoryLimiter } from './create-memory-limiter.ts';

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

const rate = (key: string, perMinute: number, burst: number, limit = 'toolset'): LimitRule => ({
  kind: 'rate',
  key,
  limit,
  perMinute,
  burst,
});

describe('createMemoryLimiter', () => {
  it('RL-01 GCRA burst, refill and retry-after follow the table exactly', () => {
    const clock = manualClock();
    const limiter = createMemoryLimiter(clock);
    // 60 per minute = one every second, burst 3.
    const table: [advanceMs: number, admitted: boolean, retryAfter?: number][] = [
      [0, true],
      [0, true],
      [0, true],
      [0, false, 1],
      [500, false, 1],
      [500, true],
      [0, false, 1],
      [3_000, true],
      [0, true],
      [0, true],
      [0, false, 1],
      [999, false, 1],
      [1, true],
    ];
    for (const [i, [advance, admitted, retryAfter]] of table.entries()) {
      clock.advance(advance);
      const decision = limiter.admitNow([rate('t:ts:s', 60, 3)]);
      expect({ row: i, admitted: decision.admitted }).toEqual({ row: i, admitted });
      if (!decision.admitted)
        expect({ row: i, retry: decision.retryAfterSeconds }).toEqual({ row: i, retry: retryAfter });
    }
  });

  it('RL-01 retry-after is the wait until the next call fits, rounded up to whole seconds', () => {
    const clock = manualClock();
    const limiter = createMemoryLimiter(clock);
    // 6 per minute = one every 10 s, burst 2.
    expect(limiter.admitNow([rate('k', 6, 2)]).admitted).toBe(true);
    expect(limiter.admitNow([rate('k', 6, 2)]).admitted).toBe(true);
    expect(limiter.admitNow([rate('k', 6, 2)])).toEqual({ admitted: false, limit: 'toolset', retryAfterSeconds: 10 });
    clock.advance(2_500);
    expect(limiter.admitNow([rate('k', 6, 2)])).toEqual({ admitted: false, limit: 'toolset', retryAfterSeconds: 8 });
    clock.advance(7_500);
    expect(limiter.admitNow([rate('k', 6, 2)]).admitted).toBe(true);
  });

  it('RL-05 a refusal always carries a retry time of at least one second', () => {
    const clock = manualClock();
    const limiter = createMemoryLimiter(clock);
    limiter.admitNow([rate('fast', 6000, 1)]);
    expect(limiter.admitNow([rate('fast', 6000, 1)])).toEqual({
      admitted: false,
      limit: 'toolset',
      retryAfterSeconds: 1,
    });
    limiter.admitNow([rate('slow', 1, 1)]);
    expect(limiter.admitNow([rate('slow', 1, 1)])).toEqual({
      admitted: false,
      limit: 'toolset',
      retryAfterSeconds: 60,
    });
    const slot = { kind: 'concurrency', key: 'c', limit: 'concurrency.perKey', maxInFlight: 1, leaseMs: 1 } as const;
    expect(limiter.admitNow([slot]).admitted).toBe(true);
    expect(limiter.admitNow([slot])).toEqual({ admitted: false, limit: 'concurrency.perKey', retryAfterSeconds: 1 });
  });

  it('RL-04 one key at ten times its limit leaves another key untouched', () => {
    const limiter = createMemoryLimiter(manualClock());
    let admittedA = 0;
    for (let i = 0; i < 100; i++) if (limiter.admitNow([rate('a', 10, 10)]).admitted) admittedA++;
    expect(admittedA).toBe(10);
    for (let i = 0; i < 10; i++) expect(limiter.admitNow([rate('b', 10, 10)]).admitted).toBe(true);
  });

  it('a call refused by one limit charges none of the others', () => {
    const limiter = createMemoryLimiter(manualClock());
    const wide = rate('wide', 60, 5, 'tenant');
    const narrow = rate('narrow', 60, 1, 'tool');
    expect(limiter.admitNow([wide, narrow]).admitted).toBe(true);
    for (let i = 0; i < 10; i++) expect(limiter.admitNow([wide, narrow])).toMatchObject({ limit: 'tool' });
    // `wide` was charged once only: four more fit.
    for (let i = 0; i < 4; i++) expect(limiter.admitNow([wide]).admitted).toBe(true);
    expect(limiter.admitNow([wide])).toMatchObject({ admitted: false, limit: 'tenant' });
  });

  it('the refusal names the limit with the longest wait', () => {
    const limiter = createMemoryLimiter(manualClock());
    const a = rate('a', 60, 1, 'toolset');
    const b = rate('b', 1, 1, 'tenant');
    limiter.admitNow([a, b]);
    expect(limiter.admitNow([a, b])).toEqual({ admitted: false, limit: 'tenant', retryAfterSeconds: 60 });
  });

  it('concurrency slots are held until released, and release is idempotent', () => {
    const limiter = createMemoryLimiter(manualClock());
    const slot = { kind: 'concurrency', key: 'c', limit: 'concurrency.perTool', maxInFlight: 2, leaseMs: 1 } as const;
    const first = limiter.admitNow([slot]);
    const second = limiter.admitNow([slot]);
    expect(limiter.admitNow([slot]).admitted).toBe(false);
    if (!first.admitted || !second.admitted) throw new Error('expected admissions');
    first.release();
    first.release();
    expect(limiter.admitNow([slot]).admitted).toBe(true);
    expect(limiter.admitNow([slot]).admitted).toBe(false);
  });
});
