import type { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { type AddressGuard, checkConnections, createAddressGuard, type ResolveHost } from '../upstream/index.ts';

export interface GuardedFetchOptions {
  /** Hosts that may resolve to private addresses (the gateway's `unsafeAllowPrivateUpstreams`). */
  readonly allowPrivateHosts: readonly string[];
  /** Host resolution (tests); the system resolver by default. */
  readonly resolve?: ResolveHost;
  /** Extra TLS options (tests: a private CA). */
  readonly tls?: Pick<ConnectionOptions, 'ca'>;
  /** Connect timeout, ms. */
  readonly connectTimeoutMs?: number;
}

/** A `fetch` whose every connection passes the SSRF guard. */
export type GuardedFetch = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * The `fetch` the authorization server uses for Client ID Metadata Documents: connections go through the same
 * SSRF guard as upstream calls (src/upstream `createAddressGuard`: names are resolved and checked inside the
 * connect lookup, the connected address is checked again), redirects are never followed (a 3xx is an answer the
 * caller refuses), and the caller's signal bounds the time.
 */
export function createGuardedFetch(options: GuardedFetchOptions): GuardedFetch {
  const guard: AddressGuard = createAddressGuard(options.allowPrivateHosts, options.resolve);
  const connector = buildConnector({
    timeout: options.connectTimeoutMs ?? 2_000,
    lookup: guard.lookup,
    ...(options.tls?.ca === undefined ? {} : { ca: options.tls.ca }),
  });
  const agent = new Agent({ connect: checkConnections(guard, connector) });
  return async (url, init) => {
    guard.checkUrl(new URL(url));
    const { dispatcher: _ignored, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
    const response = await undiciFetch(url, {
      ...(rest as Parameters<typeof undiciFetch>[1]),
      redirect: 'manual',
      dispatcher: agent,
    });
    return response as unknown as Response;
  };
}
