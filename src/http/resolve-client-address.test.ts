import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { resolveClientAddress, toTrustedProxies } from './resolve-client-address.ts';

const requestFrom = (peer: string | undefined, forwardedFor?: string | string[]) =>
  ({
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  }) as unknown as IncomingMessage;

const trusted = toTrustedProxies(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);

describe('resolveClientAddress()', () => {
  it.each([
    // [peer, X-Forwarded-For, want]
    ['203.0.113.5', undefined, '203.0.113.5'],
    ['203.0.113.5', '198.51.100.1', '203.0.113.5'],
    ['127.0.0.2', '198.51.100.1', '127.0.0.2'],
    ['127.0.0.1', undefined, '127.0.0.1'],
    ['127.0.0.1', '198.51.100.1', '198.51.100.1'],
    ['::ffff:127.0.0.1', '198.51.100.1', '198.51.100.1'],
    ['10.1.1.1', '198.51.100.1, 10.2.2.2', '198.51.100.1'],
    ['10.1.1.1', '6.6.6.6, 198.51.100.1, 10.2.2.2', '198.51.100.1'],
    ['10.1.1.1', '10.3.3.3, 10.2.2.2', '10.3.3.3'],
    ['10.1.1.1', '2001:DB8:0::1', '2001:db8::1'],
    ['10.1.1.1', '::ffff:198.51.100.1', '198.51.100.1'],
    ['fd00::7', '198.51.100.1', '198.51.100.1'],
    ['::ffff:a00:1', '198.51.100.1', '198.51.100.1'],
    ['10.1.1.1', '', '10.1.1.1'],
    ['10.1.1.1', ' , ', '10.1.1.1'],
    ['10.1.1.1', '198.51.100.1:4711', '10.1.1.1'],
    ['10.1.1.1', '[2001:db8::1]', '10.1.1.1'],
    ['10.1.1.1', 'unknown', '10.1.1.1'],
    ['10.1.1.1', '_hidden, 10.2.2.2', '10.1.1.1'],
    ['10.1.1.1', 'fe80::1%eth0', '10.1.1.1'],
    ['10.1.1.1', '198.51.100.1,,', '10.1.1.1'],
    ['10.1.1.1', 'garbage, 198.51.100.1', '198.51.100.1'],
    ['10.1.1.1', '01.2.3.4', '10.1.1.1'],
  ])('peer %s, X-Forwarded-For %j -> %s', (peer, forwardedFor, want) => {
    expect(resolveClientAddress(requestFrom(peer, forwardedFor), trusted)).toBe(want);
  });

  it('reads every X-Forwarded-For line, in order', () => {
    expect(resolveClientAddress(requestFrom('10.1.1.1', ['6.6.6.6', '198.51.100.1, 10.2.2.2']), trusted)).toBe(
      '198.51.100.1',
    );
  });

  it('ignores the header when no proxy is trusted, and says unknown when the socket has no peer any more', () => {
    expect(resolveClientAddress(requestFrom('127.0.0.1', '198.51.100.1'), toTrustedProxies([]))).toBe('127.0.0.1');
    expect(resolveClientAddress(requestFrom(undefined, '198.51.100.1'), trusted)).toBe('unknown');
  });

  it('walks a very long header without trouble', () => {
    const hops = Array.from({ length: 2_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    expect(resolveClientAddress(requestFrom('10.1.1.1', ['198.51.100.1', ...hops].join(',')), trusted)).toBe(
      '198.51.100.1',
    );
  });
});
