import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Task {
  id: string;
  title: string;
  status: 'open' | 'done';
  due?: string;
  comments: { text: string; at: string }[];
}

export interface DemoApi {
  readonly url: string;
  /** The API key the demo API expects in `X-Demo-Key`; Gatehouse stores it in its vault. */
  readonly apiKey: string;
  close(): Promise<void>;
}

const maxBody = 64 * 1024;

/**
 * Starts the demo tasks API on 127.0.0.1 (a free port). In-memory, seeded with a few tasks, protected by an API
 * key so the quick start shows a credential the agent never sees.
 */
export async function startDemoApi(options: { apiKey?: string; port?: number } = {}): Promise<DemoApi> {
  const apiKey = options.apiKey ?? `demo_${randomBytes(18).toString('base64url')}`;
  const expected = Buffer.from(apiKey);
  let next = 1;
  const tasks = new Map<string, Task>();
  const add = (title: string, status: Task['status'] = 'open', due?: string) => {
    const id = `t${next++}`;
    tasks.set(id, { id, title, status, ...(due ? { due } : {}), comments: [] });
    return tasks.get(id)!;
  };
  add('Renew the TLS certificate of the billing service', 'open', '2026-12-01');
  add('Review the access policy for the support agent', 'open');
  add('Rotate the staging database password', 'done');

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { error: 'internal error' }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const presented = Buffer.from(String(req.headers['x-demo-key'] ?? ''));
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      return send(res, 401, { error: 'missing or wrong X-Demo-Key' });
    }
    const url = new URL(req.url ?? '/', 'http://demo');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'tasks') return send(res, 404, { error: 'not found' });
    const task = parts[1] === undefined ? undefined : tasks.get(parts[1]);
    if (parts.length === 1 && req.method === 'GET') {
      const status = url.searchParams.get('status');
      const limit = Math.min(100, Number(url.searchParams.get('limit') ?? 20) || 20);
      const list = [...tasks.values()].reverse().filter((t) => !status || t.status === status);
      return send(res, 200, { tasks: list.slice(0, limit), total: list.length });
    }
    if (parts.length === 1 && req.method === 'POST') {
      const body = JSON.parse(await readBody(req)) as { title?: unknown; due?: unknown };
      if (typeof body.title !== 'string' || body.title === '') return send(res, 400, { error: 'title is required' });
      return send(res, 201, add(body.title, 'open', typeof body.due === 'string' ? body.due : undefined));
    }
    if (task === undefined) return send(res, 404, { error: `no task ${parts[1] ?? ''}` });
    if (parts.length === 2 && req.method === 'GET') return send(res, 200, task);
    if (parts.length === 2 && req.method === 'PATCH') {
      const body = JSON.parse(await readBody(req)) as Partial<Task>;
      if (typeof body.title === 'string') task.title = body.title;
      if (body.status === 'open' || body.status === 'done') task.status = body.status;
      return send(res, 200, task);
    }
    if (parts.length === 2 && req.method === 'DELETE') {
      tasks.delete(task.id);
      res.writeHead(204).end();
      return;
    }
    if (parts.length === 3 && parts[2] === 'comments' && req.method === 'POST') {
      const text = new URLSearchParams(await readBody(req)).get('text');
      if (!text) return send(res, 400, { error: 'text is required' });
      task.comments.push({ text, at: new Date().toISOString() });
      return send(res, 201, task);
    }
    return send(res, 405, { error: 'method not allowed' });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8') || '{}';
}
