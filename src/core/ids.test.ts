import { describe, expect, it } from 'vitest';
import { createId, createRequestId } from './ids.ts';

describe('createId', () => {
  it('encodes the requested number of random bytes as base64url', () => {
    expect(createId(12)).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(createId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(createId(9), 'base64url')).toHaveLength(9);
  });

  it('never repeats across pool refills (every pooled byte is used once)', () => {
    const seen = new Set<string>();
    // 3,000 x 16 bytes spans about 12 refills of the 4 KB pool.
    for (let i = 0; i < 3_000; i++) seen.add(createId(16));
    expect(seen.size).toBe(3_000);
  });

  it('refuses sizes outside 1..256', () => {
    expect(() => createId(0)).toThrow(RangeError);
    expect(() => createId(257)).toThrow(RangeError);
  });
});

describe('createRequestId', () => {
  it('is 9 base-36 time digits then 12 hex digits, sortable by time', () => {
    const a = createRequestId(1_000);
    const b = createRequestId(2_000_000_000_000);
    expect(a).toMatch(/^[0-9a-z]{9}[0-9a-f]{12}$/);
    expect(b).toMatch(/^[0-9a-z]{9}[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });

  it('differs between two ids of the same millisecond', () => {
    expect(createRequestId(5)).not.toBe(createRequestId(5));
  });
});
