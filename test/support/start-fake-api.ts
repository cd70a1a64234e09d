import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake API received it. */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type FakeHandler = (request: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeApi {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedRequest[];
  /** Replaces the handler; the default echoes the request as JSON. */
  handle(handler: FakeHandler): void;
  close(): Promise<void>;
}

/** A scriptable upstream API on 127.0.0.1 (port 0) that records every request it receives. */
export async function startFakeApi(): Promise<FakeApi> {
  const received: ReceivedRequest[] = [];
  let handler: FakeHandler = echo;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: ReceivedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    received.push(request);
    try {
      await handler(request, res);
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    handle: (next) => {
      handler = next;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function echo(request: ReceivedRequest, res: ServerResponse): void {
  const body = JSON.stringify({
    method: request.method,
    path: request.path,
    query: Object.fromEntries(request.query),
    body: request.body,
  });
  if (request.method === 'DELETE') {
    res.writeHead(204).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
}
