import { describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import { createTokenBuckets } from './create-token-buckets.ts';

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

describe('createTokenBuckets', () => {
  it('RL-01 burst, refill and retry-after follow the table exactly', () => {
    const clock = manualClock();
    const take = createTokenBuckets(clock);
    // 60 per minute = 1 per second, burst 3.
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
    ];
    for (const [i, [advance, admitted, retryAfter]] of table.entries()) {
      clock.advance(advance);
      const decision = take('t/s', 60, 3);
      expect({ row: i, admitted: decision.admitted }).toEqual({ row: i, admitted });
      if (!decision.admitted) expect(decision.retryAfterSeconds).toBe(retryAfter);
    }
  });

  it('RL-05 a refusal always carries a retry time of at least one second', () => {
    const clock = manualClock();
    const take = createTokenBuckets(clock);
    take('k', 6000, 1);
    const decision = take('k', 6000, 1);
    expect(decision).toEqual({ admitted: false, retryAfterSeconds: 1 });
    const slow = createTokenBuckets(clock);
    slow('k', 1, 1);
    expect(slow('k', 1, 1)).toEqual({ admitted: false, retryAfterSeconds: 60 });
  });

  it('RL-04 one key at ten times its limit leaves another key untouched', () => {
    const take = createTokenBuckets(manualClock());
    let admittedA = 0;
    for (let i = 0; i < 100; i++) if (take('a', 10, 10).admitted) admittedA++;
    expect(admittedA).toBe(10);
    for (let i = 0; i < 10; i++) expect(take('b', 10, 10).admitted).toBe(true);
  });
});
