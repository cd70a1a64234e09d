import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Pack, type PackOperation, requestBodyOf, successResponseOf } from './read-pack.ts';
import { sampleFromSchema } from './sample-from-schema.ts';

/** A request the fake upstream matched to a pack operation, or could not. */
export interface PackHit {
  readonly pack: string;
  readonly operationId: string | undefined;
  readonly method: string;
  readonly url: string;
  /** What was wrong with the request against the operation's description (empty: it was as described). */
  readonly problems: readonly string[];
}

export interface PackUpstream {
  readonly url: string;
  /** Base URL to configure for a pack's service: `{url}/{pack id}`. */
  baseUrlOf(pack: string): string;
  readonly hits: PackHit[];
  close(): Promise<void>;
}

interface Route {
  readonly pack: Pack;
  readonly operation: PackOperation;
  readonly pattern: RegExp;
  readonly literal: number;
}

/**
 * A fake upstream on 127.0.0.1 (port 0) built from pack descriptions: each request under `/{pack id}` is matched
 * to the operation whose method and path template fit (the most literal template wins), checked against it
 * (`hasCredential`, required query and header parameters, a request body of the described media type
 * that parses), and answered with the operation's success status and a body generated from its response schema.
 */
export async function startPackUpstream(
  packs: readonly Pack[],
  hasCredential: (pack: Pack, req: IncomingMessage, url: URL) => boolean,
): Promise<PackUpstream> {
  const routes: Route[] = packs
    .flatMap((pack) =>
      pack.operations.map((operation) => ({
        pack,
        operation,
        pattern: new RegExp(
          `^/${pack.id}${operation.path
            .split(/(\{[^}]+\})/)
            .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
            .join('')}$`,
        ),
        literal: operation.path.replace(/\{[^}]+\}/g, '').length,
      })),
    )
    .sort((a, b) => b.literal - a.literal);
  const hits: PackHit[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = routes.find((r) => r.operation.method === req.method && r.pattern.test(url.pathname));
    if (route === undefined) {
      hits.push({
        pack: url.pathname.split('/')[1] ?? '',
        operationId: undefined,
        method: req.method ?? '',
        url: req.url ?? '',
        problems: ['no operation matches'],
      });
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    const { pack, operation } = route;
    const problems: string[] = [];
    if (!hasCredential(pack, req, url)) problems.push('no credential');
    for (const parameter of operation.parameters) {
      if (parameter['required'] !== true) continue;
      const name = String(parameter['name']);
      if (parameter['in'] === 'query' && !url.searchParams.has(name)) problems.push(`query ${name} missing`);
      if (parameter['in'] === 'header' && req.headers[name.toLowerCase()] === undefined) {
        problems.push(`header ${name} missing`);
      }
    }
    const described = requestBodyOf(pack.doc, operation);
    if (described !== undefined && body !== '') {
      const type = String(req.headers['content-type'] ?? '').split(';')[0];
      if (type !== described.mediaType) problems.push(`content-type ${type}, described ${described.mediaType}`);
      if (type === 'application/json') {
        try {
          JSON.parse(body);
        } catch {
          problems.push('body is not JSON');
        }
      }
    } else if (described?.required && req.headers['content-type'] === undefined) {
      problems.push('required body missing');
    }
    hits.push({
      pack: pack.id,
      operationId: operation.operationId,
      method: req.method ?? '',
      url: req.url ?? '',
      problems,
    });
    const { status, schema } = successResponseOf(pack.doc, operation);
    if (status === 204 || schema === undefined) {
      res.writeHead(status === 204 ? 204 : status).end();
      return;
    }
    let answer: string;
    try {
      answer = JSON.stringify(sampleFromSchema(pack.doc, schema, { all: true }));
    } catch (error) {
      problems.push(`response: ${(error as Error).message}`);
      res.writeHead(500).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseUrlOf: (pack) => `${url}/${pack}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
