import type { IncomingHttpHeaders } from 'node:http';
import { GatehouseError } from '../core/index.ts';

export interface OriginCheckOptions {
  /** The gateway's public base URL: its origin and host are always accepted. */
  readonly publicUrl: string;
  /** Further browser origins allowed to call (`https://app.example.com`), compared exactly after normalising. */
  readonly allowedOrigins: readonly string[];
  /** The address the server listens on; loopback means loopback Host names are accepted too. */
  readonly listenHost?: string;
}

/**
 * Origin and Host validation against DNS rebinding and cross-site calls (MC-06; the MCP transport spec says
 * servers MUST validate `Origin`). Returns the `forbidden_origin` error to answer with, or undefined.
 * - `Origin` absent (non-browser clients) passes; present, it must be the publicUrl's origin, an allowed one, or
 *   the origin of the (already validated) Host itself: a page this gateway served, under whichever of its names.
 *   `Origin: null` passes only with `Sec-Fetch-Site: same-origin` (CP-02: what Chromium sends for a form posted by
 *   a `no-referrer` page of this gateway); from another site, a sandboxed frame or a script it is refused.
 * - `Host` must name the publicUrl's host; when the publicUrl or the listen address is loopback, any loopback
 *   name or address (`localhost`, `127.0.0.0/8`, `[::1]`) on any port passes as well: a rebinding page reaches
 *   the server under its own domain name, which is what this refuses.
 */
export function createOriginCheck(
  options: OriginCheckOptions,
): (headers: IncomingHttpHeaders) => GatehouseError | undefined {
  const publicUrl = new URL(options.publicUrl);
  const origins = new Set([publicUrl.origin, ...options.allowedOrigins.map(normaliseOrigin)]);
  const publicHost = publicUrl.host.toLowerCase();
  const loopback =
    isLoopbackName(publicUrl.hostname) || (options.listenHost !== undefined && isLoopbackName(options.listenHost));
  return (headers) => {
    const host = headers.host?.toLowerCase();
    if (host === undefined || (host !== publicHost && !(loopback && isLoopbackName(hostnameOf(host))))) {
      return new GatehouseError('forbidden_origin', 'Host header is not this gateway', { header: 'host' });
    }
    const origin = headers.origin?.toLowerCase();
    if (origin === 'null') {
      // A browser sends `Origin: null` for a form its own page posts when that page's referrer policy is
      // `no-referrer` (and from sandboxed or opaque contexts). Only the browser's own `Sec-Fetch-Site: same-origin`
      // (a header pages cannot set) makes that a same-origin post; a null origin from anywhere else is refused.
      if (headers['sec-fetch-site'] === 'same-origin') return undefined;
      return new GatehouseError('forbidden_origin', 'Origin is not allowed', { header: 'origin' });
    }
    if (origin !== undefined && !origins.has(origin) && !isSameOrigin(origin, host)) {
      return new GatehouseError('forbidden_origin', 'Origin is not allowed', { header: 'origin' });
    }
    return undefined;
  };
}

function isSameOrigin(origin: string, host: string): boolean {
  return origin === `http://${host}` || origin === `https://${host}`;
}

function normaliseOrigin(value: string): string {
  try {
    return new URL(value).origin;
  } catch {
    return value.toLowerCase();
  }
}

/** The name part of a Host header value (`[::1]:8787` -> `[::1]`, `localhost:80` -> `localhost`). */
function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function isLoopbackName(name: string): boolean {
  const n = name.toLowerCase();
  if (n === 'localhost' || n === '[::1]' || n === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(n);
}
