import type { IncomingMessage } from 'node:http';
import { BlockList } from 'node:net';
import { canonicalAddress, parseAddressRange } from '../core/index.ts';

/**
 * The proxies whose `X-Forwarded-For` is believed (config `trustedProxies`: addresses and CIDR blocks, validated
 * when the config was parsed; an entry that does not parse here throws `Error` naming it). Empty: no one's.
 */
export function toTrustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const range = parseAddressRange(entry);
    if ('problem' in range) throw new Error(`trustedProxies: ${range.problem}`);
    list.addSubnet(range.network, range.prefix, range.family);
  }
  return list;
}

/**
 * The address a request came from, the one every per-address budget, limiter key and log line uses: the socket's
 * peer, or, when the peer is a trusted proxy, the right-most address of `X-Forwarded-For` (every header line, in
 * order) that is not a trusted proxy, walking from the right as nginx's `real_ip_recursive on` and Express's
 * `trust proxy` with a list do. A trusted proxy appends the address it received the request from, so entries left of
 * the first untrusted one are the client's own claims and are never read. When every entry is a trusted proxy, the
 * left-most one. Falls back to the peer, never throws, when the header is absent or empty or when an entry reached
 * is not a bare IP address (a port, a name, `unknown`, an obfuscated id, an empty entry). Addresses are canonical
 * (`canonicalAddress`); `unknown` when the socket has no peer address any more. `Forwarded` (RFC 7239) is not read.
 */
export function resolveClientAddress(req: IncomingMessage, trustedProxies: BlockList): string {
  const peerText = req.socket.remoteAddress;
  const peer = peerText === undefined ? undefined : canonicalAddress(peerText);
  if (peer === undefined) return peerText ?? 'unknown';
  if (!isTrusted(trustedProxies, peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  let client = peer;
  for (let i = forwarded.length - 1; i >= 0; i--) {
    const hop = canonicalAddress((forwarded[i] as string).trim());
    if (hop === undefined) return peer;
    client = hop;
    if (!isTrusted(trustedProxies, hop)) return hop;
  }
  return client;
}

function isTrusted(list: BlockList, address: string): boolean {
  return list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
}
