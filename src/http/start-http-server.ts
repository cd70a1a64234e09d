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
  /**
   * Graceful stop: drains the app (`/readyz` 503) and keeps serving for `unreadyDelayMs`, then stops accepting,
   * closes idle connections and waits up to `drainTimeoutMs` for requests in flight. Past that, `onDrainTimeout`
   * runs (to abort the work those requests wait for) and they get `abortGraceMs` more to end before every
   * connection is closed. Resolves once the server is closed, saying whether the drain finished in time.
   */
  close(options?: ShutdownOptions): Promise<{ readonly drained: boolean }>;
}

export interface ShutdownOptions {
  readonly unreadyDelayMs?: number;
  /** Default 5 s. */
  readonly drainTimeoutMs?: number;
  readonly onDrainTimeout?: (inFlight: number) => void;
  /** Default 2 s. */
  readonly abortGraceMs?: number;
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
        close: async (shutdown: ShutdownOptions = {}) => {
          app.drain();
          if (shutdown.unreadyDelayMs) await new Promise((done) => setTimeout(done, shutdown.unreadyDelayMs));
          const closed = new Promise<void>((done) => server.close(() => done()));
          server.closeIdleConnections();
          const drained = await app.settled(shutdown.drainTimeoutMs ?? 5_000);
          if (!drained) {
            shutdown.onDrainTimeout?.(app.inFlight());
            await app.settled(shutdown.abortGraceMs ?? 2_000);
          }
          // Idle now means answered: a connection still flushing its last response is left to finish it.
          server.closeIdleConnections();
          const force = setTimeout(() => server.closeAllConnections(), shutdown.abortGraceMs ?? 2_000);
          await app.close();
          await closed;
          clearTimeout(force);
          return { drained };
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
