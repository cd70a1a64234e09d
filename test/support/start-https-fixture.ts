import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HttpsFixture {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** The self-signed certificate (PEM), to be trusted as the CA of the client that calls the fixture. */
  readonly ca: string;
  /** Requests received, by path. */
  readonly hits: Map<string, number>;
  /** Sets the answer of a path. */
  route(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  /** Answers every path without a route of its own (default 404), e.g. a TLS-terminating proxy. */
  otherwise(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 (port 0) with a certificate made for this run by `openssl` (self-signed, valid a
 * day, for IP 127.0.0.1): a stand-in for a public HTTPS host such as a client's metadata document URL.
 */
export async function startHttpsFixture(): Promise<HttpsFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
    const hits = new Map<string, number>();
    let fallback: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
      res.writeHead(404).end();
    };
    const server = createServer({ key, cert }, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://fixture').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      (routes.get(path) ?? fallback)(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return {
      url: `https://127.0.0.1:${port}`,
      ca: cert,
      hits,
      route: (path, handler) => routes.set(path, handler),
      otherwise: (handler) => {
        fallback = handler;
      },
      close: () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
