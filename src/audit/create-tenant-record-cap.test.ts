import { describe, expect, it } from 'vitest';
import { createTenantRecordCap } from './create-tenant-record-cap.ts';

describe('createTenantRecordCap', () => {
  it('admits maxPerMinute records per tenant per minute, each tenant on its own budget', () => {
    let now = 5 * 60_000;
    const admit = createTenantRecordCap({ maxPerMinute: 2, now: () => now });
    expect([admit('a'), admit('a'), admit('a'), admit('b')]).toEqual([true, true, false, true]);
    now += 60_000;
    expect(admit('a')).toBe(true);
  });
});
