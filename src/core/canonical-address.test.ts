import { describe, expect, it } from 'vitest';
import { canonicalAddress } from './canonical-address.ts';

describe('canonicalAddress()', () => {
  it.each([
    ['198.51.100.1', '198.51.100.1'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:7f00:1', '127.0.0.1'],
    ['::1', '::1'],
    ['198.51.100.1:80', undefined],
    ['[::1]', undefined],
    ['fe80::1%eth0', undefined],
    ['01.2.3.4', undefined],
    ['host.example', undefined],
    ['', undefined],
  ])('%s -> %s', (text, want) => {
    expect(canonicalAddress(text)).toBe(want);
  });
});
