import { isIP } from 'node:net';

/** An address or a CIDR block, as `net.BlockList.addSubnet` takes it. */
export interface AddressRange {
  readonly network: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * `10.0.0.0/8`, `127.0.0.1` (= `/32`), `fd00::/8`, `::1` (= `/128`) -> the range; anything else -> `{ problem }`, a
 * sentence saying what is wrong with the entry. Refused besides malformed text: a prefix of 0 (every address, so any
 * client could choose its own address), host bits set under the prefix (`10.0.0.1/8`: the intended block is named
 * in the problem), IPv6 entries sharing addresses with the IPv4-mapped block `::ffff:0:0/96` in any spelling
 * (`::ffff:10.0.0.1`, `0:0:0:0:0:ffff:a00:1`: write the IPv4 form; `::/80`: every IPv4 address), zones and brackets.
 */
export function parseAddressRange(entry: string): AddressRange | { readonly problem: string } {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address) === 4 ? 'ipv4' : isIP(address) === 6 && !address.includes('%') ? 'ipv6' : undefined;
  if (family === undefined) {
    return {
      problem: `'${entry}' is not an IP address or CIDR block (expected e.g. 10.0.0.0/8, 192.0.2.7 or fd00::/8)`,
    };
  }
  const bits = family === 'ipv4' ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : entry.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 1 && prefix <= bits)) {
    return {
      problem:
        prefix === 0
          ? `'${entry}' trusts every address, so any client could choose its own address: list the proxies' addresses`
          : `'${entry}' has no valid prefix length (expected 1 to ${bits} after the /)`,
    };
  }
  const bytes = toBytes(address, family);
  const network = bytes.map((byte, i) => byte & (0xff << Math.max(0, 8 - Math.max(0, prefix - i * 8))) & 0xff);
  if (network.some((byte, i) => byte !== bytes[i])) {
    return {
      problem: `'${entry}' has host bits set under /${prefix}: the block is ${fromBytes(network, family)}/${prefix}`,
    };
  }
  if (family === 'ipv6' && overlapsIpv4Mapped(network, prefix)) {
    return {
      problem:
        prefix <= mappedPrefix
          ? `'${entry}' holds the IPv4-mapped block ::ffff:0:0/96, so it trusts every IPv4 address: list IPv4 proxies in their IPv4 form`
          : `'${entry}' is an IPv4-mapped IPv6 address or block: write the IPv4 form`,
    };
  }
  return { network: address, prefix, family };
}

/** `::ffff:0:0/96`, the IPv4-mapped addresses, as bytes. */
const mappedNetwork = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
const mappedPrefix = 96;

/**
 * Whether the IPv6 block `network/prefix` shares an address with `::ffff:0:0/96`, however it is spelled: Node's
 * `BlockList` checks an IPv4 address against IPv6 rules in its mapped form, so such an entry matches IPv4 clients
 * (every one of them when it holds the whole block, as `::/80` does).
 */
function overlapsIpv4Mapped(network: readonly number[], prefix: number): boolean {
  const shared = Math.min(prefix, mappedPrefix);
  for (let bit = 0; bit < shared; bit++) {
    const mask = 0x80 >> (bit % 8);
    const byte = Math.floor(bit / 8);
    if (((network[byte] as number) & mask) !== ((mappedNetwork[byte] as number) & mask)) return false;
  }
  return true;
}

function toBytes(address: string, family: 'ipv4' | 'ipv6'): number[] {
  if (family === 'ipv4') return address.split('.').map(Number);
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted !== undefined) {
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groupsOf = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':'));
  const left = groupsOf(head);
  const right = groupsOf(tail);
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((group: string) => {
    const value = Number.parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

function fromBytes(bytes: readonly number[], family: 'ipv4' | 'ipv6'): string {
  if (family === 'ipv4') return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2)
    groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}
