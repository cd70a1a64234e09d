import { describe, expect, it } from 'vitest';
import { minResumeDelayMs, toResumeDelay } from './to-resume-delay.ts';

describe('toResumeDelay()', () => {
  it('waits at least minResumeDelayMs, whatever the server asks', () => {
    expect(toResumeDelay(0)).toBe(minResumeDelayMs);
    expect(toResumeDelay(99)).toBe(100);
  });

  it('keeps a longer wait asked for', () => {
    expect(toResumeDelay(1_500)).toBe(1_500);
  });

  it('caps a wait a Node timer cannot hold (it would fire after 1 ms)', () => {
    expect(toResumeDelay(30_000_000_000)).toBe(2_147_483_647);
  });
});
