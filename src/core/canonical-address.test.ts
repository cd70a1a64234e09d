import { describe, expect, it } from 'vitest';
import { addressBudgetOf, canonicalAddress } from './canonical-address.ts';

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

describe('addressBudgetOf()', () => {
  it.each([
    ['198.51.100.7', '198.51.100.7'],
    ['2001:db8:7:1::1', '2001:db8:7:1::/64'],
    ['2001:db8:7:1:ffff:ffff:ffff:fffe', '2001:db8:7:1::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:1::', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1', 'fe80:0:0:0::/64'],
    ['unknown', 'unknown'],
  ])('%s counts as %s', (address, budget) => {
    expect(addressBudgetOf(address)).toBe(budget);
  });
});
