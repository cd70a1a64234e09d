import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cancelCall, createCallCancellation, type HttpMethod, type Tool } from '../core/index.ts';
import { applyCredential, type UpstreamCredential } from './apply-credential.ts';
import { type BuiltRequest, buildRequest } from './build-request.ts';
import { createUpstreamClient, type UpstreamCall, type UpstreamClient } from './create-upstream-client.ts';

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: IncomingMessage['headers'];
  body: string;
}

interface TestUpstream {
  origin: string;
  port: number;
  seen: Seen[];
  connections: number;
  /** Resolves when the socket that carried request number `index` (0-based) closes. */
  socketClosed(index: number): Promise<'closed'>;
  socketOpen(index: number): boolean;
  reset(): void;
  close(): Promise<void>;
}

type Handler = (request: IncomingMessage, response: ServerResponse, upstream: TestUpstream) => void;

async function startUpstream(handler: Handler, host = '127.0.0.1'): Promise<TestUpstream> {
  const sockets: Socket[] = [];
  const open = new Set<Socket>();
  const closed = new Map<Socket, Promise<'closed'>>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      upstream.seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        rawHeaders: request.rawHeaders,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      sockets.push(request.socket);
      handler(request, response, upstream);
    });
  });
  server.on('connection', (socket) => {
    upstream.connections++;
    open.add(socket);
    closed.set(socket, new Promise((resolve) => socket.on('close', () => resolve('closed'))));
    socket.on('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const upstream: TestUpstream = {
    origin: `http://${host}:${port}`,
    port,
    seen: [],
    connections: 0,
    socketClosed: (index) => closed.get(sockets[index] as Socket) as Promise<'closed'>,
    socketOpen: (index) => open.has(sockets[index] as Socket),
    reset: () => {
      upstream.seen.length = 0;
      sockets.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return upstream;
}

function toolOf(method: HttpMethod = 'GET'): Tool {
  return {
    key: 'echo',
    operation: 'echo',
    title: 'echo',
    description: '',
    inputSchema: { type: 'object' },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    safety: 'safe',
    scopes: [],
    tags: [],
    request: {
      method,
      pathTemplate: '/{route}',
      parameters: [
        {
          name: 'route',
          argument: 'route',
          in: 'path',
          required: true,
          style: 'simple',
          explode: false,
          allowReserved: false,
        },
        {
          name: 'api_key',
          argument: 'api_key',
          in: 'query',
          required: false,
          style: 'form',
          explode: true,
          allowReserved: false,
        },
        { name: 'q', argument: 'q', in: 'query', required: false, style: 'form', explode: true, allowReserved: false },
        // Descriptions often declare these; the model must not be able to use them.
        {
          name: 'Authorization',
          argument: 'Authorization',
          in: 'header',
          required: false,
          style: 'simple',
          explode: false,
          allowReserved: false,
        },
        {
          name: 'Cookie',
          argument: 'Cookie',
          in: 'header',
          required: false,
          style: 'simple',
          explode: false,
          allowReserved: false,
        },
        {
          name: 'Proxy-Authorization',
          argument: 'proxy',
          in: 'header',
          required: false,
          style: 'simple',
          explode: false,
          allowReserved: false,
        },
        {
          name: 'X-Api-Key',
          argument: 'x_api_key',
          in: 'header',
          required: false,
          style: 'simple',
          explode: false,
          allowReserved: false,
        },
      ],
      ...(method === 'POST' ? { body: { argument: 'body', mediaType: 'application/json', required: false } } : {}),
    },
  };
}

function callOf(request: BuiltRequest, origin: string, overrides: Partial<UpstreamCall> = {}): UpstreamCall {
  return {
    ...request,
    timeoutMs: 2_000,
    connectTimeoutMs: 1_000,
    maxResponseBytes: 1_000,
    allowedOrigin: origin,
    ...overrides,
  };
}

function getCall(url: string, overrides: Partial<UpstreamCall> = {}): UpstreamCall {
  return callOf({ method: 'GET', url: new URL(url), headers: {} }, new URL(url).origin, overrides);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code: string }).code;
  }
  return 'no error';
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const slowAnswerMs = 30_000;

const routes: Handler = (request, response, upstream) => {
  const path = new URL(request.url ?? '/', 'http://x').pathname;
  const seen = upstream.seen.at(-1);
  switch (path) {
    case '/echo':
      response.setHeader('Set-Cookie', 'session=abc');
      response.setHeader('X-Multi', ['a', 'b']);
      response.setHeader('Content-Type', 'application/json; charset=utf-8');
      response.end(JSON.stringify(seen));
      return;
    case '/text':
      response.setHeader('Content-Type', 'text/plain');
      response.end('plain');
      return;
    // Slow answers come after 30 s, far past every budget below: a test that times the end of a call asserts it
    // ended in under a fifth of that, so a loaded machine has room and a call that waited for the answer fails.
    case '/slow-headers':
      setTimeout(() => response.end('late'), slowAnswerMs).unref();
      return;
    case '/slow-body':
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('a');
      setTimeout(() => response.end('b'), slowAnswerMs).unref();
      return;
    case '/big-declared':
      response.writeHead(200, { 'content-length': '5000' });
      response.write('x'.repeat(100));
      return;
    case '/big-streamed': {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const push = () => {
        if (response.destroyed || sent >= 200) return response.end();
        sent++;
        response.write('y'.repeat(100));
        setTimeout(push, 5);
      };
      push();
      return;
    }
    case '/reset':
      request.socket.destroy();
      return;
    case '/redirect-same':
      response.writeHead(302, { location: '/echo?hop=1' });
      response.end();
      return;
    case '/redirect-loop':
      response.writeHead(307, { location: '/redirect-loop' });
      response.end();
      return;
    case '/redirect-absolute':
      response.writeHead(301, { location: `${upstream.origin}/echo` });
      response.end();
      return;
    default:
      if (path.startsWith('/to/')) {
        response.writeHead(302, { location: decodeURIComponent(path.slice(4)) });
        response.end();
        return;
      }
      response.writeHead(404);
      response.end();
  }
};

let upstream: TestUpstream;
let client: UpstreamClient;

beforeAll(async () => {
  upstream = await startUpstream(routes);
  client = createUpstreamClient({ allowPrivateHosts: ['127.0.0.1'] });
});

afterAll(async () => {
  await client.close();
  await upstream.close();
});

afterEach(() => {
  upstream.reset();
});

const hostileArgs = {
  Authorization: 'Bearer from-the-model',
  Cookie: 'session=from-the-model',
  proxy: 'Basic from-the-model',
  api_key: 'from-the-model',
  x_api_key: 'from-the-model',
};

async function sendWith(credential: UpstreamCredential, args: Record<string, unknown> = {}) {
  const built = buildRequest(toolOf(), upstream.origin, { route: 'echo', q: 'a b', ...hostileArgs, ...args });
  const response = await client.send(callOf(applyCredential(built, credential), upstream.origin));
  expect(response.status).toBe(200);
  return response.json as Seen;
}

function headerValues(seen: Seen, name: string): string[] {
  return seen.rawHeaders.flatMap((value, i) =>
    i % 2 === 1 && seen.rawHeaders[i - 1]?.toLowerCase() === name ? [value] : [],
  );
}

function expectNoHostileHeaders(seen: Seen) {
  expect(headerValues(seen, 'authorization').join()).not.toContain('from-the-model');
  expect(headerValues(seen, 'cookie')).toEqual([]);
  expect(headerValues(seen, 'proxy-authorization')).toEqual([]);
}

describe('credentials arrive exactly as configured, and arguments cannot override them', () => {
  it('MC-02 bearer: one Authorization header with the token; nothing from the arguments', async () => {
    const seen = await sendWith({ type: 'bearer', token: 'tok-1234567' });
    expect(headerValues(seen, 'authorization')).toEqual(['Bearer tok-1234567']);
    expectNoHostileHeaders(seen);
  });

  it('MC-02 basic: base64 of username:password (UTF-8)', async () => {
    const seen = await sendWith({ type: 'basic', username: 'ålice', password: 'p:ss wörd' });
    const value = headerValues(seen, 'authorization');
    expect(value).toHaveLength(1);
    expect(Buffer.from(value[0]?.replace(/^Basic /, '') ?? '', 'base64').toString('utf8')).toBe('ålice:p:ss wörd');
    expectNoHostileHeaders(seen);
  });

  it('MC-02 apiKey in a header replaces an argument of the same name (any case)', async () => {
    const seen = await sendWith({ type: 'apiKey', in: 'header', name: 'X-API-KEY', value: 'key-4567890' });
    expect(headerValues(seen, 'x-api-key')).toEqual(['key-4567890']);
    expect(headerValues(seen, 'authorization')).toEqual([]);
    expectNoHostileHeaders(seen);
  });

  it('MC-02 apiKey in the query replaces an api_key argument and keeps the other parameters intact', async () => {
    const seen = await sendWith({ type: 'apiKey', in: 'query', name: 'api_key', value: 'k+/=&%-0123' });
    const query = new URL(seen.url, 'http://x').searchParams;
    expect(query.getAll('api_key')).toEqual(['k+/=&%-0123']);
    expect(seen.url).toBe('/echo?q=a%20b&api_key=k%2B%2F%3D%26%25-0123');
  });

  it('MC-02 the upstream sees only the built headers plus user-agent, host and connection', async () => {
    const seen = await sendWith({ type: 'bearer', token: 'token-0123' }, { x_api_key: undefined });
    expect(Object.keys(seen.headers).sort()).toEqual(['accept', 'authorization', 'connection', 'host', 'user-agent']);
    expect(seen.headers['user-agent']).toBe('Gatehouse/0.1');
  });

  it('a JSON body arrives with its content type and length', async () => {
    const built = buildRequest(toolOf('POST'), upstream.origin, { route: 'echo', body: { a: 'ü' } });
    const response = await client.send(callOf(built, upstream.origin));
    const seen = response.json as Seen;
    expect(seen.method).toBe('POST');
    expect(JSON.parse(seen.body)).toEqual({ a: 'ü' });
    expect(seen.headers['content-type']).toBe('application/json');
  });
});

describe('responses', () => {
  it('headers are lower-case, repeated ones joined, set-cookie dropped, JSON parsed', async () => {
    const response = await client.send(getCall(`${upstream.origin}/echo`));
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers['x-multi']).toBe('a, b');
    expect(response.contentType).toBe('application/json; charset=utf-8');
    expect((response.json as Seen).url).toBe('/echo');
    expect(response.redirects).toBe(0);
  });

  it('a non-JSON body is kept as bytes without json', async () => {
    const response = await client.send(getCall(`${upstream.origin}/text`));
    expect(Buffer.from(response.body).toString()).toBe('plain');
    expect(response.json).toBeUndefined();
  });

  it('keeps connections alive: ten sequential calls share the pooled sockets', async () => {
    const fresh = await startUpstream(routes);
    try {
      for (let i = 0; i < 10; i++) await client.send(getCall(`${fresh.origin}/text`));
      expect(fresh.seen).toHaveLength(10);
      // undici may open a second socket while the first is being released; it never opens one per call.
      expect(fresh.connections).toBeLessThanOrEqual(2);
    } finally {
      await fresh.close();
    }
  });
});

describe('UP-05/06 timeouts and size cap', () => {
  it('UP-05 a server that never sends headers: upstream_timeout after the total budget', async () => {
    const started = performance.now();
    const code = await codeOf(client.send(getCall(`${upstream.origin}/slow-headers`, { timeoutMs: 200 })));
    expect(code).toBe('upstream_timeout');
    // At the 200 ms budget, not at a default timeout nor at the server's answer 30 s later.
    expect(performance.now() - started).toBeLessThan(slowAnswerMs / 5);
  });

  it('UP-05 a body that trickles past the total budget: upstream_timeout', async () => {
    const code = await codeOf(client.send(getCall(`${upstream.origin}/slow-body`, { timeoutMs: 300 })));
    expect(code).toBe('upstream_timeout');
  });

  it('UP-05 connect timeout (slow DNS counts): upstream_timeout in the connect phase', async () => {
    const slow = createUpstreamClient({
      allowPrivateHosts: ['slow.test'],
      resolve: () => new Promise((resolve) => setTimeout(() => resolve([{ address: '127.0.0.1', family: 4 }]), 1_500)),
    });
    try {
      const url = `http://slow.test:${upstream.port}/text`;
      const error = await slow.send(getCall(url, { connectTimeoutMs: 100, timeoutMs: 5_000 })).catch((e) => e);
      expect(error.code).toBe('upstream_timeout');
      expect(error.details.phase).toBe('connect');
      expect(upstream.seen).toHaveLength(0);
    } finally {
      await slow.close();
    }
  });

  it("the client's cancellation ends the call (cancelled: the client, not the upstream), not a timeout", async () => {
    const cancellation = createCallCancellation();
    setTimeout(() => cancelCall(cancellation, 'stopped'), 50);
    const started = performance.now();
    const error = await client
      .send(getCall(`${upstream.origin}/slow-headers`, { cancellation, timeoutMs: slowAnswerMs }))
      .catch((e) => e);
    expect(error.code).toBe('cancelled');
    // At the cancellation, not at the 30 s timeout or answer it would otherwise wait for.
    expect(performance.now() - started).toBeLessThan(slowAnswerMs / 5);
    // The slot is left empty once the call is over: a late cancellation finds nothing to end.
    expect(cancellation.onCancel).toBeUndefined();
  });

  it('a call whose client cancelled before it was sent is not sent', async () => {
    const cancellation = createCallCancellation();
    cancelCall(cancellation, 'stopped');
    const seen = upstream.seen.length;
    const error = await client.send(getCall(`${upstream.origin}/text`, { cancellation })).catch((e) => e);
    expect(error.code).toBe('cancelled');
    expect(upstream.seen).toHaveLength(seen);
  });

  it('a call that ended clears its cancellation hook', async () => {
    const cancellation = createCallCancellation();
    await client.send(getCall(`${upstream.origin}/text`, { cancellation }));
    expect(cancellation.onCancel).toBeUndefined();
  });

  it('abort() (shutdown past the drain time) ends a call in flight and every later one: reason SHUTDOWN', async () => {
    const cut = createUpstreamClient({ allowPrivateHosts: ['127.0.0.1'] });
    const inFlight = cut.send(getCall(`${upstream.origin}/slow-headers`, { timeoutMs: slowAnswerMs })).catch((e) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await cut.abort();
    const error = await inFlight;
    // At the abort, not at the 30 s timeout or answer the call would otherwise wait for.
    expect(performance.now() - started).toBeLessThan(slowAnswerMs / 5);
    expect([error.code, error.details.reason]).toEqual(['upstream_error', 'SHUTDOWN']);
    const later = await cut.send(getCall(`${upstream.origin}/text`)).catch((e) => e);
    expect([later.code, later.details.reason]).toEqual(['upstream_error', 'SHUTDOWN']);
    await cut.close();
  });

  it('a reset connection: upstream_unreachable', async () => {
    expect(await codeOf(client.send(getCall(`${upstream.origin}/reset`)))).toBe('upstream_unreachable');
  });

  it('a closed port: upstream_unreachable in the connect phase', async () => {
    const gone = await startUpstream(routes);
    await gone.close();
    const error = await client.send(getCall(`${gone.origin}/text`)).catch((e) => e);
    expect(error.code).toBe('upstream_unreachable');
    expect(error.details.phase).toBe('connect');
  });

  it('UP-06 a declared Content-Length over the cap: upstream_too_large and the server sees its socket closed', async () => {
    const fresh = await startUpstream(routes);
    try {
      const code = await codeOf(client.send(getCall(`${fresh.origin}/big-declared`, { maxResponseBytes: 1_000 })));
      expect(code).toBe('upstream_too_large');
      const closed = await Promise.race([fresh.socketClosed(0), sleep(1_000).then(() => 'still open')]);
      expect(closed).toBe('closed');
    } finally {
      await fresh.close();
    }
  });

  it('UP-06 a streamed body crossing the cap: upstream_too_large and the server sees its socket closed', async () => {
    const fresh = await startUpstream(routes);
    try {
      const code = await codeOf(client.send(getCall(`${fresh.origin}/big-streamed`, { maxResponseBytes: 1_000 })));
      expect(code).toBe('upstream_too_large');
      const closed = await Promise.race([fresh.socketClosed(0), sleep(1_000).then(() => 'still open')]);
      expect(closed).toBe('closed');
    } finally {
      await fresh.close();
    }
  });

  it('UP-06 control: after a normal response the pooled socket stays open', async () => {
    // A fresh origin: right after an aborted response undici briefly recycles that origin's connections.
    const fresh = await startUpstream(routes);
    try {
      await client.send(getCall(`${fresh.origin}/text`));
      const state = await Promise.race([fresh.socketClosed(0), sleep(200).then(() => 'open')]);
      expect(state).toBe('open');
    } finally {
      await fresh.close();
    }
  });

  it('a body exactly at the cap is accepted', async () => {
    const response = await client.send(getCall(`${upstream.origin}/text`, { maxResponseBytes: 5 }));
    expect(response.body.byteLength).toBe(5);
  });
});

describe('redirects', () => {
  it('a same-origin redirect of a GET is followed, with the credential kept', async () => {
    const built = applyCredential(
      { method: 'GET', url: new URL(`${upstream.origin}/redirect-same`), headers: {} },
      { type: 'bearer', token: 'same-origin' },
    );
    const response = await client.send(callOf(built, upstream.origin));
    expect(response.status).toBe(200);
    expect(response.redirects).toBe(1);
    expect((response.json as Seen).url).toBe('/echo?hop=1');
    expect(upstream.seen.map((s) => s.headers['authorization'])).toEqual(['Bearer same-origin', 'Bearer same-origin']);
  });

  it('an absolute same-origin Location is followed too', async () => {
    const response = await client.send(getCall(`${upstream.origin}/redirect-absolute`));
    expect([response.status, response.redirects]).toEqual([200, 1]);
  });

  it('a redirect to another origin is returned, not followed: the other server sees nothing', async () => {
    const other = await startUpstream(routes);
    try {
      const built = applyCredential(
        {
          method: 'GET',
          url: new URL(`${upstream.origin}/to/${encodeURIComponent(`${other.origin}/echo`)}`),
          headers: {},
        },
        { type: 'bearer', token: 'never-elsewhere' },
      );
      const response = await client.send(callOf(built, upstream.origin));
      expect(response.status).toBe(302);
      expect(response.headers['location']).toBe(`${other.origin}/echo`);
      expect(other.connections).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('a redirect of a POST is returned as the response', async () => {
    const built = buildRequest(toolOf('POST'), upstream.origin, { route: 'redirect-same', body: {} });
    const response = await client.send(callOf(built, upstream.origin));
    expect([response.status, upstream.seen.length]).toEqual([302, 1]);
  });

  it('at most 3 redirects are followed; the 4th 3xx is returned', async () => {
    const response = await client.send(getCall(`${upstream.origin}/redirect-loop`));
    expect([response.status, response.redirects, upstream.seen.length]).toEqual([307, 3, 4]);
  });

  it('MC-07 a redirect to a private address of another origin is not followed', async () => {
    const response = await client.send(
      getCall(`${upstream.origin}/to/${encodeURIComponent('http://169.254.169.254/latest')}`),
    );
    expect(response.status).toBe(302);
  });
});

describe('MC-07 private and reserved addresses are blocked before any connection', () => {
  const strict = createUpstreamClient({ allowPrivateHosts: [] });
  afterAll(() => strict.close());

  const literalForms = (port: number) => [
    `http://127.0.0.1:${port}/text`,
    `http://0x7f.1:${port}/text`,
    `http://2130706433:${port}/text`,
    `http://017700000001:${port}/text`,
    `http://127.1:${port}/text`,
    `http://[::ffff:127.0.0.1]:${port}/text`,
  ];

  it('MC-07 each literal form of 127.0.0.1 is refused when no private host is allowed, and reaches the server when allowed', async () => {
    for (const url of literalForms(upstream.port)) {
      expect([url, await codeOf(strict.send(getCall(url)))]).toEqual([url, 'upstream_blocked']);
    }
    expect(upstream.seen).toHaveLength(0);
    // Control: the same URLs do reach the server when the operator allows it, so the guard is what stopped them.
    const allowing = createUpstreamClient({ allowPrivateHosts: ['127.0.0.1', '[::ffff:127.0.0.1]'] });
    try {
      for (const url of literalForms(upstream.port)) expect((await allowing.send(getCall(url))).status).toBe(200);
    } finally {
      await allowing.close();
    }
  });

  it('MC-07 allowPrivateHosts is exact: 127.0.0.2 and ::ffff:127.0.0.1 are refused when only 127.0.0.1 is allowed', async () => {
    const second = await startUpstream(routes, '127.0.0.2');
    try {
      const connectionsBefore = upstream.connections;
      const urls = [`http://127.0.0.2:${second.port}/text`, `http://[::ffff:127.0.0.1]:${upstream.port}/text`];
      for (const url of urls) expect(await codeOf(client.send(getCall(url)))).toBe('upstream_blocked');
      expect([second.connections, upstream.connections - connectionsBefore, upstream.seen.length]).toEqual([0, 0, 0]);
      const allowing = createUpstreamClient({ allowPrivateHosts: ['127.0.0.2'] });
      try {
        expect((await allowing.send(getCall(urls[0] as string))).status).toBe(200);
      } finally {
        await allowing.close();
      }
    } finally {
      await second.close();
    }
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/'],
    ['http://10.0.0.1/'],
    ['http://192.168.1.1/'],
    ['http://172.16.0.1/'],
    ['http://100.64.0.1/'],
    ['http://0.0.0.0/'],
    ['http://[::1]/'],
    ['http://[::]/'],
    ['http://[fd00::1]/'],
    ['http://[fe80::1]/'],
    ['http://[64:ff9b::a9fe:a9fe]/'],
    ['http://[::ffff:a9fe:a9fe]/'],
    // 192.0.0.0/24 holds a cloud metadata address (192.0.0.192); dropping the range survived the suite once.
    ['http://192.0.0.192/opc/v2/instance/'],
    ['http://[::ffff:192.0.0.192]/'],
  ])('MC-07 %s is refused', async (url) => {
    expect(await codeOf(strict.send(getCall(url, { connectTimeoutMs: 200, timeoutMs: 500 })))).toBe('upstream_blocked');
  });

  it('MC-07 a name resolving to loopback (localhost) is refused unless allowed by name', async () => {
    const fresh = await startUpstream(routes);
    try {
      const url = `http://localhost:${fresh.port}/text`;
      expect(await codeOf(client.send(getCall(url)))).toBe('upstream_blocked');
      expect(fresh.connections).toBe(0);
      const allowing = createUpstreamClient({ allowPrivateHosts: ['localhost'] });
      try {
        expect((await allowing.send(getCall(url))).status).toBe(200);
        expect(fresh.connections).toBe(1);
      } finally {
        await allowing.close();
      }
    } finally {
      await fresh.close();
    }
  });

  it('MC-07 a name is refused when any of its addresses is private, and the resolver is asked once per connection', async () => {
    let lookups = 0;
    const resolving = createUpstreamClient({
      allowPrivateHosts: [],
      resolve: async () => {
        lookups++;
        return [
          { address: '93.184.215.14', family: 4 },
          { address: '127.0.0.1', family: 4 },
        ];
      },
    });
    try {
      const connectionsBefore = upstream.connections;
      const url = `http://mixed.test:${upstream.port}/text`;
      expect(await codeOf(resolving.send(getCall(url)))).toBe('upstream_blocked');
      expect([lookups, upstream.connections - connectionsBefore, upstream.seen.length]).toEqual([1, 0, 0]);
    } finally {
      await resolving.close();
    }
  });

  it('MC-07 a URL outside the allowed origin is refused', async () => {
    const call = { ...getCall(`${upstream.origin}/text`), allowedOrigin: 'http://127.0.0.1:1' };
    expect(await codeOf(client.send(call))).toBe('upstream_blocked');
    expect(upstream.seen).toHaveLength(0);
  });
});

describe('LG-02 errors never carry the credential', () => {
  const canary = 'canary-Zx9"q\\+/=%-ghp_0123456789abcdef';
  const basicCanary = Buffer.from(`user:${canary}`).toString('base64');
  const credentials: UpstreamCredential[] = [
    { type: 'bearer', token: canary },
    { type: 'basic', username: 'user', password: canary },
    { type: 'apiKey', in: 'query', name: 'api_key', value: canary },
    { type: 'apiKey', in: 'header', name: 'X-Api-Key', value: canary },
  ];

  async function errorFor(route: string, credential: UpstreamCredential, origin = upstream.origin) {
    const built = applyCredential({ method: 'GET', url: new URL(`${origin}${route}`), headers: {} }, credential);
    return client
      .send(callOf(built, origin, { timeoutMs: 300, maxResponseBytes: 1_000 }))
      .then(() => undefined)
      .catch((error: unknown) => error);
  }

  it.each(credentials.map((c) => [c.type + ('in' in c ? `/${c.in}` : ''), c] as const))(
    'LG-02 %s: reset, timeout, too large and refused errors hold no trace of the secret',
    async (_, credential) => {
      const gone = await startUpstream(routes);
      await gone.close();
      const errors = [
        await errorFor('/reset', credential),
        await errorFor('/slow-headers', credential),
        await errorFor('/big-streamed', credential),
        await errorFor('/text', credential, gone.origin),
      ];
      for (const error of errors) {
        expect(error).toBeDefined();
        const e = error as Error;
        const renderings = [e.message, String(e.stack), JSON.stringify(e), inspect(e, { depth: 10, showHidden: true })];
        for (const text of renderings) {
          expect(text).not.toContain(canary);
          expect(text).not.toContain(basicCanary);
          expect(text).not.toContain(encodeURIComponent(canary));
          expect(text).not.toContain('canary-Zx9');
        }
      }
    },
  );
});
