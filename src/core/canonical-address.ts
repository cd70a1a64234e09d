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
