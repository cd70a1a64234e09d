import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { createFakeGateway, type FakeGateway } from '../mcp/_fake-gateway.ts';
import { createHttpApp } from './create-http-app.ts';
import { createRouter } from './create-router.ts';
import { type RunningHttpServer, startHttpServer } from './start-http-server.ts';

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** node:http client, so that Host can be set freely (fetch does not let a caller choose it). */
function send(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const mcpHeaders = {
  authorization: 'Bearer key-t',
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};
const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });

let gateway: FakeGateway;
let server: RunningHttpServer;
let publicServer: RunningHttpServer;

beforeAll(async () => {
  gateway = createFakeGateway();
  const app = createHttpApp({
    gateway,
    publicUrl: 'http://127.0.0.1:8787',
    allowedOrigins: ['https://inspector.example.com'],
    limits: { bodyBytes: 64 },
    routes: [
      {
        method: 'POST',
        path: '/api/v1/tenants/:tenant/*',
        handle: async ({ res, params, readBody }) => {
          const body = await readBody();
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ params, size: body.length }));
        },
      },
      {
        method: 'GET',
        path: '/connect/:service',
        handle: () => {
          throw new GatehouseError('connection_required', 'Service petstore is not connected', { service: 'petstore' });
        },
      },
      {
        method: 'GET',
        path: '/boom',
        handle: () => {
          throw new Error('secret internals');
        },
      },
    ],
  });
  server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  // A gateway published under a public name, listening on all interfaces: only its public Host is accepted.
  const publicApp = createHttpApp({ gateway, publicUrl: 'https://gw.example.com', listenHost: '0.0.0.0' });
  publicServer = await startHttpServer(publicApp, { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server.close();
  await publicServer.close();
});

describe('createHttpApp() probes and errors', () => {
  it('GET /healthz answers ok with a fresh x-request-id each time', async () => {
    const first = await send(server.url, '/healthz');
    const second = await send(server.url, '/healthz');
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ status: 'ok' });
    expect(first.headers['x-request-id']).toMatch(/^[0-9a-z]{21}$/);
    expect(first.headers['x-request-id']).not.toBe(second.headers['x-request-id']);
  });

  it('GET /readyz follows gateway.ready()', async () => {
    expect((await send(server.url, '/readyz')).status).toBe(200);
    gateway.isReady = false;
    const down = await send(server.url, '/readyz');
    gateway.isReady = true;
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body).code).toBe('store_unavailable');
  });

  it('drain(): /readyz answers 503 draining while requests are still served, each with Connection: close', async () => {
    const draining = createHttpApp({ gateway, publicUrl: 'http://127.0.0.1:8787' });
    const running = await startHttpServer(draining, { host: '127.0.0.1', port: 0 });
    try {
      draining.drain();
      const ready = await send(running.url, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toEqual({ status: 'draining' });
      const health = await send(running.url, '/healthz');
      expect(health.status).toBe(200);
      expect(health.headers.connection).toBe('close');
      expect(draining.inFlight()).toBe(0);
      expect(await draining.settled(10)).toBe(true);
    } finally {
      await running.close();
    }
  });

  it('renders an unknown route as problem+json 404', async () => {
    const response = await send(server.url, '/nowhere');
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(response.body)).toEqual({
      type: 'urn:gatehouse:problem:not_found',
      title: 'Not Found',
      status: 404,
      code: 'not_found',
      detail: 'No such route',
    });
  });

  it('answers a known path with a wrong method with 405 and Allow', async () => {
    const response = await send(server.url, '/healthz', { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers['allow']).toBe('GET, HEAD');
    expect(JSON.parse(response.body).code).toBe('method_not_allowed');
  });

  it('renders a GatehouseError thrown by a route with its status, code and details', async () => {
    const response = await send(server.url, '/connect/petstore');
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'connection_required', details: { service: 'petstore' } });
  });

  it('renders any other failure as internal without its message', async () => {
    const response = await send(server.url, '/boom');
    expect(response.status).toBe(500);
    expect(response.body).not.toContain('secret');
    expect(JSON.parse(response.body).code).toBe('internal');
  });

  it('passes decoded params and the rest of the path to added routes, and enforces the body limit', async () => {
    const ok = await send(server.url, '/api/v1/tenants/ac%20me/keys/k1', { method: 'POST', body: 'x'.repeat(64) });
    expect(JSON.parse(ok.body)).toEqual({ params: { tenant: 'ac me', '*': 'keys/k1' }, size: 64 });
    const tooLarge = await send(server.url, '/api/v1/tenants/acme/keys', { method: 'POST', body: 'x'.repeat(65) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers['connection']).toBe('close');
    expect(JSON.parse(tooLarge.body).code).toBe('payload_too_large');
  });
});

describe('createHttpApp() Origin and Host validation', () => {
  it.each([
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['an Origin of null', { origin: 'null' }],
    ['a loopback Origin on another port', { origin: 'http://localhost:3000' }],
    ['a rebinding Host', { host: 'evil.example:8787' }],
    ['a rebinding Host with a matching Origin', { host: 'evil.example', origin: 'http://evil.example' }],
    // Mutation check (issue 17): a loopback-name pattern without its end anchor let these through.
    ['a rebinding Host that starts like a loopback address', { host: '127.0.0.1.evil.example:8787' }],
    [
      'a rebinding Host and Origin that start like a loopback address',
      { host: '127.0.0.1.evil.example:8787', origin: 'http://127.0.0.1.evil.example:8787' },
    ],
  ])('MC-06 %s on /mcp is 403 forbidden_origin before authentication', async (_case, headers) => {
    gateway.authorizations.length = 0;
    const response = await send(server.url, '/mcp/t/s', {
      method: 'POST',
      headers: { ...mcpHeaders, ...headers },
      body: ping,
    });
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toMatchObject({ jsonrpc: '2.0', error: { data: { code: 'forbidden_origin' } } });
    expect(gateway.authorizations).toEqual([]);
  });

  it.each([
    ['no Origin', {}],
    ['the public origin', { origin: 'http://127.0.0.1:8787' }],
    ['an allowed origin', { origin: 'https://inspector.example.com' }],
    ['a localhost Host on loopback', { host: 'localhost:3000' }],
    ['a same-origin page (Origin is the Host)', { host: 'localhost:3000', origin: 'http://localhost:3000' }],
    ['an IPv6 loopback Host', { host: '[::1]:8787' }],
  ])('accepts %s', async (_case, headers) => {
    const response = await send(server.url, '/mcp/t/s', {
      method: 'POST',
      headers: { ...mcpHeaders, ...headers },
      body: ping,
    });
    expect(response.status).toBe(200);
  });

  it('MC-06 a public deployment accepts its own Host only', async () => {
    const own = await send(publicServer.url, '/mcp/t/s', {
      method: 'POST',
      headers: { ...mcpHeaders, host: 'gw.example.com', origin: 'https://gw.example.com' },
      body: ping,
    });
    expect(own.status).toBe(200);
    const loopback = await send(publicServer.url, '/mcp/t/s', { method: 'POST', headers: mcpHeaders, body: ping });
    expect(loopback.status).toBe(403);
  });

  it('leaves the probes unchecked (load balancers call them by address)', async () => {
    expect((await send(server.url, '/healthz', { headers: { host: '10.0.0.7:8787' } })).status).toBe(200);
  });
});

describe('createRouter()', () => {
  const handle = () => {};
  const router = createRouter([
    { method: 'POST', path: '/mcp/:tenant/:toolset', handle },
    { method: ['GET', 'DELETE'], path: '/api/v1/keys/:id', handle },
  ]);

  it('matches segments exactly and refuses empty or malformed params', () => {
    expect(router.match('POST', '/mcp/a/b')).toMatchObject({ kind: 'found', params: { tenant: 'a', toolset: 'b' } });
    expect(router.match('POST', '/mcp/a/b/c').kind).toBe('not_found');
    expect(router.match('POST', '/mcp//b').kind).toBe('not_found');
    expect(router.match('POST', '/mcp/%E0%A4%A/b').kind).toBe('not_found');
    expect(router.match('PUT', '/api/v1/keys/1')).toEqual({
      kind: 'method_not_allowed',
      allow: ['GET', 'DELETE', 'HEAD'],
    });
  });
});
