import { createServer } from 'node:http';
import { listenChild } from './listen-child.ts';

/**
 * The fake upstream API of the benchmarks, run as its own process: `GET /items/{id}` answers a fixed JSON body of
 * about 2 KB when the `X-API-Key` header equals `BENCH_UPSTREAM_KEY`, 401 otherwise, 404 for any other path.
 * Prints its port on stdout (see `listen-child.ts`).
 */

const key = process.env['BENCH_UPSTREAM_KEY'];
if (!key) throw new Error('fake-upstream: BENCH_UPSTREAM_KEY is not set');

const body = Buffer.from(JSON.stringify(createItem()));
const unauthorized = Buffer.from('{"error":"unauthorized"}');
const notFound = Buffer.from('{"error":"not found"}');

const server = createServer((req, res) => {
  // Drain any request body so the connection stays reusable.
  req.resume();
  if (req.method !== 'GET' || !req.url?.startsWith('/items/')) return send(res, 404, notFound);
  if (req.headers['x-api-key'] !== key) return send(res, 401, unauthorized);
  send(res, 200, body);
});

function send(res: import('node:http').ServerResponse, status: number, payload: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': payload.length });
  res.end(payload);
}

/** A deterministic item of about 2 KB, shaped like a typical REST resource. */
function createItem(): Record<string, unknown> {
  const attributes = Array.from({ length: 19 }, (_, i) => ({
    key: `attribute-${i}`,
    value: `value of attribute ${i} for the benchmark item`,
    weight: Math.round((i * 0.37 + 1) * 100) / 100,
  }));
  return {
    id: 'item-42',
    name: 'Benchmark item',
    description: 'A fixed JSON document served by the fake upstream so every target moves the same bytes.',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-06-01T12:00:00.000Z',
    owner: { id: 'user-7', login: 'bench', email: 'bench@example.test' },
    tags: ['alpha', 'beta', 'gamma', 'delta', 'epsilon'],
    attributes,
  };
}

await listenChild(server);
