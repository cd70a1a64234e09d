import { describe, expect, it } from 'vitest';
import { parseAddressRange } from './parse-address-range.ts';

describe('parseAddressRange()', () => {
  it.each([
    ['10.0.0.0/8', { network: '10.0.0.0', prefix: 8, family: 'ipv4' }],
    ['127.0.0.1', { network: '127.0.0.1', prefix: 32, family: 'ipv4' }],
    ['192.0.2.7/32', { network: '192.0.2.7', prefix: 32, family: 'ipv4' }],
    ['fd00::/8', { network: 'fd00::', prefix: 8, family: 'ipv6' }],
    ['::1', { network: '::1', prefix: 128, family: 'ipv6' }],
    ['2001:db8::/32', { network: '2001:db8::', prefix: 32, family: 'ipv6' }],
  ])('%s is a range', (entry, want) => {
    expect(parseAddressRange(entry)).toEqual(want);
  });

  it.each([
    ['proxy.internal', 'is not an IP address or CIDR block'],
    ['10.0.0.0/', 'has no valid prefix length'],
    ['10.0.0.0/33', 'has no valid prefix length (expected 1 to 32'],
    ['fd00::/129', 'expected 1 to 128'],
    ['10.0.0.0/8/8', 'has no valid prefix length'],
    ['10.0.0.0/ 8', 'has no valid prefix length'],
    [' 10.0.0.1', 'is not an IP address'],
    ['010.0.0.1', 'is not an IP address'],
    ['[::1]', 'is not an IP address'],
    ['fe80::1%eth0', 'is not an IP address'],
    ['0.0.0.0/0', 'trusts every address'],
    ['::/0', 'trusts every address'],
    ['10.0.0.1/8', 'host bits set under /8: the block is 10.0.0.0/8'],
    ['172.16.5.0/12', 'the block is 172.16.0.0/12'],
    ['2001:db8::1/32', 'the block is 2001:db8::/32'],
    ['fd12:3456::/8', 'the block is fd00::/8'],
    ['::ffff:10.0.0.1', 'write the IPv4 form'],
  ])('%s is refused: %s', (entry, problem) => {
    const parsed = parseAddressRange(entry);
    expect('problem' in parsed && parsed.problem).toContain(problem);
  });

  // Node's BlockList matches an IPv4 address against IPv6 rules in its mapped form (::ffff:a.b.c.d): an IPv6 entry
  // holding any of ::ffff:0:0/96, however it is spelled, would trust IPv4 clients (all of them, for a block).
  it.each([
    ['0:0:0:0:0:ffff:0:0/96', 'trusts every IPv4 address'],
    ['0::ffff:0:0/96', 'trusts every IPv4 address'],
    ['::ffff:0:0/96', 'trusts every IPv4 address'],
    ['::/80', 'trusts every IPv4 address'],
    ['::/1', 'trusts every IPv4 address'],
    ['0:0:0:0:0:ffff:a00:1', 'write the IPv4 form'],
    ['::ffff:a00:0/104', 'write the IPv4 form'],
  ])('trusted_proxies_mapped_spelling_trusts_every_ipv4: %s is refused: %s', (entry, problem) => {
    const parsed = parseAddressRange(entry);
    expect('problem' in parsed && parsed.problem).toContain(problem);
  });

  it.each(['::/96', '::1', '64:ff9b::/96', '8000::/1'])('%s, beside the mapped block, is a range', (entry) => {
    expect(parseAddressRange(entry)).not.toHaveProperty('problem');
  });
});
