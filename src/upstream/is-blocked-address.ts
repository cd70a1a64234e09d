import { isIPv4, isIPv6 } from 'node:net';

// [first address, prefix length]: loopback, private, shared (CGNAT), link-local (incl. cloud metadata
// 169.254.169.254), "this network", IETF protocol assignments, documentation, benchmarking, multicast, reserved.
const blockedIpv4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

function toIpv4Number(address: string): number {
  return address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

const blockedIpv4Ranges = blockedIpv4.map(([first, prefix]) => {
  const size = 2 ** (32 - prefix);
  const start = toIpv4Number(first);
  return [start, start + size - 1] as const;
});

function isBlockedIpv4Number(value: number): boolean {
  return blockedIpv4Ranges.some(([start, end]) => value >= start && value <= end);
}

/** Eight 16-bit groups of a valid IPv6 address (zone id ignored, embedded dotted IPv4 accepted). */
function toIpv6Groups(address: string): number[] {
  let text = address.split('%')[0] ?? '';
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const v4 = toIpv4Number(dotted[1]);
    text = `${text.slice(0, -dotted[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)));
  const first = parse(head);
  if (tail === undefined) return first;
  const last = parse(tail);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}

function isBlockedIpv6(groups: readonly number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const embedded = g6 * 0x10000 + g7;
  const upperZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (upperZero && g5 === 0xffff) return isBlockedIpv4Number(embedded); // ::ffff:a.b.c.d (IPv4-mapped)
  if (upperZero && g5 === 0) return true; // ::/96: unspecified, loopback, deprecated IPv4-compatible
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return isBlockedIpv4Number(embedded); // NAT64 well-known prefix 64:ff9b::/96
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return true; // local-use NAT64 64:ff9b:1::/48
  if (g0 === 0x2002) return isBlockedIpv4Number(g1 * 0x10000 + g2); // 6to4
  if (g0 === 0x2001 && g1 === 0) return isBlockedIpv4Number(~embedded >>> 0); // Teredo client (obfuscated)
  if (g0 === 0x2001 && g1 === 0xdb8) return true; // documentation
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return true; // discard-only 100::/64
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return true; // site-local (deprecated) fec0::/10
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  return false;
}

/**
 * Whether `address` (a literal IPv4 or IPv6 address without brackets, as DNS or `socket.remoteAddress` gives it)
 * is loopback, private, link-local, shared, reserved or otherwise not a public unicast address, including IPv4
 * addresses embedded in IPv6 (mapped, NAT64, 6to4, Teredo). Anything that is not a valid IP literal counts as
 * blocked, so a parsing surprise fails closed.
 */
export function isBlockedAddress(address: string): boolean {
  if (isIPv4(address)) return isBlockedIpv4Number(toIpv4Number(address));
  if (isIPv6(address)) return isBlockedIpv6(toIpv6Groups(address));
  return true;
}
