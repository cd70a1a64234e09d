import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatehouseError } from '../core/index.ts';
import type { HttpApp } from './create-http-app.ts';

export interface ListenOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** How long an idle keep-alive connection stays open. Default 65 s: longer than common proxy idle timeouts (60 s). */
  readonly keepAliveTimeoutMs?: number;
}

export interface RunningHttpServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, closes idle connections, lets in-flight requests finish (up to 5 s), closes the app. */
  close(): Promise<void>;
}

/** Serves an HttpApp on node:http. Resolves once listening. */
export function startHttpServer(app: HttpApp, options: ListenOptions): Promise<RunningHttpServer> {
  const server = createServer(app);
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  // Must exceed keepAliveTimeout, or a request arriving on a reused socket can be cut (node docs).
  server.headersTimeout = server.keepAliveTimeout + 1_000;
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => reject(toListenError(error, options));
    server.once('error', fail);
    server.listen(options.port, options.host, () => {
      server.off('error', fail);
      const { port } = server.address() as AddressInfo;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        url: `http://${host}:${port}`,
        port,
        close: async () => {
          const closed = new Promise<void>((done) => server.close(() => done()));
          server.closeIdleConnections();
          const force = setTimeout(() => server.closeAllConnections(), 5_000);
          await app.close();
          await closed;
          clearTimeout(force);
        },
      });
    });
  });
}

/** A failed `listen` as a `config_invalid` error naming the address, the cause and the fix (`listen`). */
function toListenError(error: NodeJS.ErrnoException, options: ListenOptions): Error {
  const address = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  const why =
    error.code === 'EADDRINUSE'
      ? `port ${options.port} is already in use (EADDRINUSE), probably by another gateway. Stop that process, or choose another port`
      : error.code === 'EACCES'
        ? `permission denied (EACCES): ports below 1024 need privileges. Choose a port above 1024`
        : error.code === 'EADDRNOTAVAIL'
          ? `${options.host} is not an address of this machine (EADDRNOTAVAIL). Choose one it has, such as 127.0.0.1`
          : undefined;
  if (why === undefined) return error;
  return new GatehouseError(
    'config_invalid',
    `Cannot listen on ${address}: ${why}: set listen in the config or GATEHOUSE_LISTEN, e.g. GATEHOUSE_LISTEN=${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port === 0 || options.port >= 65_535 ? 8788 : options.port + 1}`,
    { path: 'listen', cause: error.code ?? 'error', address },
    { cause: error },
  );
}
