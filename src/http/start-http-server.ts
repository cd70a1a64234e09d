import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
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
