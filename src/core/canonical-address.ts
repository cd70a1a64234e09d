import { isIP } from 'node:net';

const mappedDotted = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;
const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * One spelling per address, so one client is one budget: an IPv4 address as it is (`isIP` refuses leading zeros),
 * an IPv6 address lower-cased and compressed (RFC 5952), an IPv4-mapped one (`::ffff:10.0.0.1`, what a dual-stack
 * socket reports for an IPv4 peer) as its IPv4 address. `undefined` for anything else: a name, a port, brackets,
 * a zone (`fe80::1%eth0`), surrounding spaces.
 */
export function canonicalAddress(text: string): string | undefined {
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6 || text.includes('%')) return undefined;
  const dotted = mappedDotted.exec(text)?.[1];
  if (dotted !== undefined) return isIP(dotted) === 4 ? dotted : undefined;
  const compressed = new URL(`http://[${text}]`).hostname.slice(1, -1);
  const mapped = mappedHex.exec(compressed);
  if (mapped === null) return compressed;
  const high = Number.parseInt(mapped[1] as string, 16);
  const low = Number.parseInt(mapped[2] as string, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * The network a client's per-address budgets count (sign-in attempts, wrong admin tokens, client registrations):
 * an IPv4 address itself, an IPv6 address its /64, written `2001:db8:7:1::/64`. One host is commonly given a whole
 * /64 and may send from any address in it, so budgets of single IPv6 addresses gave it 2^64 of them (finding
 * ipv6_rotation_bypasses_address_budget). `address` is canonical (`canonicalAddress`); anything else (`unknown`)
 * is returned as it is.
 */
export function addressBudgetOf(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.split('::');
  const leading = head === '' ? [] : head.split(':');
  const trailing = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...leading, ...Array<string>(8 - leading.length - trailing.length).fill('0'), ...trailing];
  return `${groups.slice(0, 4).join(':')}::/64`;
}
