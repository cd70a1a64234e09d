import { lookup as lookupDns } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { GatehouseError } from '../core/index.ts';
import { isBlockedAddress } from './is-blocked-address.ts';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has (the system resolver by default). */
export type ResolveHost = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface AddressGuard {
  /** Throws `upstream_blocked` when `url` names a blocked IP literal (checked after URL normalisation). */
  checkUrl(url: URL): void;
  /** `net.connect` lookup hook: resolves, checks every address, and hands only checked addresses to connect. */
  readonly lookup: LookupFunction;
  /** Throws `upstream_blocked` when the socket actually connected to a blocked address. */
  checkConnected(hostname: string, remoteAddress: string | undefined): void;
}

const resolveWithSystem: ResolveHost = async (hostname) =>
  (await lookupDns(hostname, { all: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }));

/** Canonical host form: lower case, no brackets, IPv4 literals as dotted quads (`0x7f.1` -> `127.0.0.1`). */
function toCanonicalHost(host: string): string {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  try {
    return new URL(`http://${isIP(bare) === 6 ? `[${bare}]` : bare}/`).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return bare;
  }
}

function blocked(hostname: string, address: string): GatehouseError {
  // The operator's fix, by its config key: the call-time error is often the first sign of it.
  return new GatehouseError(
    'upstream_blocked',
    `Upstream host ${hostname} resolves to a private or reserved address; to allow it, list the host in the ` +
      `gateway's unsafeAllowPrivateUpstreams setting (top-level config key)`,
    { host: hostname, address, allowWith: 'unsafeAllowPrivateUpstreams' },
  );
}

/**
 * The SSRF guard (MC-07). Hosts listed in `allowPrivateHosts` (compared after the same normalisation the URL
 * parser applies, so `127.0.0.1` also allows `0x7f.1`) may resolve anywhere; every other host may only reach public
 * unicast addresses (`isBlockedAddress`). Names are checked inside the connect lookup, so the addresses checked are
 * exactly the ones connected to: a DNS answer that changes between check and connect (rebinding) cannot slip
 * through. The connected socket's remote address is checked once more as a last line.
 */
export function createAddressGuard(
  allowPrivateHosts: readonly string[],
  resolve: ResolveHost = resolveWithSystem,
): AddressGuard {
  const allowed = new Set(allowPrivateHosts.map(toCanonicalHost));
  const isAllowed = (hostname: string) => allowed.has(toCanonicalHost(hostname));

  const lookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const wanted = addresses.filter(({ family }) => !options.family || options.family === family);
        if (!isAllowed(hostname)) {
          const bad = wanted.find(({ address }) => isBlockedAddress(address));
          if (bad !== undefined) return callback(blocked(hostname, bad.address), '', 0);
        }
        const first = wanted[0];
        if (first === undefined) {
          return callback(Object.assign(new Error('No address'), { code: 'ENOTFOUND' }), '', 0);
        }
        if (options.all)
          return callback(
            null,
            wanted.map(({ address, family }) => ({ address, family })),
          );
        return callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };

  return {
    checkUrl(url) {
      const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
      if (isIP(hostname) !== 0 && !isAllowed(hostname) && isBlockedAddress(hostname)) {
        throw blocked(hostname, hostname);
      }
    },
    lookup,
    checkConnected(hostname, remoteAddress) {
      if (isAllowed(hostname)) return;
      if (remoteAddress === undefined || isBlockedAddress(remoteAddress)) {
        throw blocked(hostname, remoteAddress ?? 'unknown');
      }
    },
  };
}

/**
 * `connector` with the guard's last line: a socket whose remote address is blocked (for a host not allowed) is
 * destroyed and the connect fails with `upstream_blocked`. The one wrapping every guarded undici Agent uses.
 */
export function checkConnections(guard: AddressGuard, connector: buildConnector.connector): buildConnector.connector {
  return (connectOptions, callback) =>
    connector(connectOptions, (error, socket) => {
      if (error !== null) return callback(error, null);
      try {
        guard.checkConnected(connectOptions.hostname, socket.remoteAddress);
      } catch (blocked) {
        socket.destroy();
        return callback(blocked as Error, null);
      }
      callback(null, socket);
    });
}

/**
 * A guarded undici connector whose connect timeout is chosen per connection (`timeoutOf`): undici fixes the
 * timeout per connector, so there is one connector per timeout value, each resolving through the guard's lookup
 * and checking the connected address (`checkConnections`).
 */
export function createGuardedConnector(
  guard: AddressGuard,
  timeoutOf: (options: buildConnector.Options) => number,
): buildConnector.connector {
  const connectors = new Map<number, buildConnector.connector>();
  return (connectOptions, callback) => {
    const timeout = timeoutOf(connectOptions);
    let connector = connectors.get(timeout);
    if (connector === undefined) {
      connector = checkConnections(guard, buildConnector({ timeout, lookup: guard.lookup }));
      connectors.set(timeout, connector);
    }
    connector(connectOptions, callback);
  };
}
