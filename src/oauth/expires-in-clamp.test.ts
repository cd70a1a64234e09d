import { describe, expect, it } from 'vitest';
import { toTokenSet } from './token-requests.ts';

// Breaker 11, finding F: an `expires_in` of 1e308 gave an infinite expiry.
describe('breaker11 F: a huge expires_in', () => {
  it('gives a finite expiry, at most ten years ahead', () => {
    const set = toTokenSet({ access_token: 'a', token_type: 'bearer', expires_in: 1e308 } as never, {
      now: () => 1,
      monotonic: () => 0,
    });
    expect(Number.isFinite(set.accessExpiresAt)).toBe(true);
    expect(set.accessExpiresAt).toBe(1 + 315_360_000_000);
  });

  it('an ordinary expires_in is kept as sent', () => {
    const set = toTokenSet({ access_token: 'a', token_type: 'bearer', expires_in: 3600 } as never, {
      now: () => 1,
      monotonic: () => 0,
    });
    expect(set.accessExpiresAt).toBe(1 + 3_600_000);
  });
});
