import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort as closedPort } from '../../test/support/free-port.ts';
import { fetchWithDispatcher } from './fetch-with-dispatcher.ts';
import { meterAnswerStream } from './meter-event-stream.ts';

const agent = new Agent({ keepAliveTimeout: 1_000 });
let server: Server | undefined;
afterEach(async () => {
  await new Promise((done) => (server === undefined ? done(undefined) : server.close(done)));
  server = undefined;
});

/** A real server on 127.0.0.1 answering each request with `answer`. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<URL> {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
}

class TooLarge extends Error {}
const limits = {
  userAgent: 'Gatehouse/test',
  maxResponseBytes: 100,
  tooLarge: () => new TooLarge('too large'),
  meter: () => undefined,
};

describe('fetchWithDispatcher()', () => {
  it('answers a JSON answer read whole: status, status text, headers, json(), text() and body', async () => {
    let seen: IncomingMessage | undefined;
    const url = await serve((req, res) => {
      seen = req;
      res.writeHead(201, 'Made', { 'content-type': 'application/json', 'mcp-session-id': 's1' });
      res.end('{"jsonrpc":"2.0","id":1,"result":{}}');
    });
    const response = await fetchWithDispatcher(
      agent,
      url,
      { method: 'POST', headers: new Headers({ 'content-type': 'application/json', 'x-one': 'a' }), body: '{}' },
      limits,
    );
    expect(response).toBeInstanceOf(Response);
    expect([response.status, response.statusText, response.ok]).toEqual([201, 'Made', true]);
    expect(response.headers.get('mcp-session-id')).toBe('s1');
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    expect(await response.text()).toBe('{"jsonrpc":"2.0","id":1,"result":{}}');
    expect(await new Response(response.body).text()).toBe('{"jsonrpc":"2.0","id":1,"result":{}}');
    expect(seen?.method).toBe('POST');
    expect(seen?.headers['x-one']).toBe('a');
    // Nothing added but the user agent: no decompression is asked for.
    expect(seen?.headers['user-agent']).toBe('Gatehouse/test');
    expect(seen?.headers['accept-encoding']).toBeUndefined();
  });

  it('leaves no listener on a long-lived abort signal once each request is answered', async () => {
    // The SDK transport passes one signal for its whole life; WHATWG fetch left a listener on it per request.
    const url = await serve((_req, res) => res.end('{}'));
    const transport = new AbortController();
    for (let i = 0; i < 20; i++) {
      const response = await fetchWithDispatcher(
        agent,
        url,
        { method: 'POST', body: '{}', signal: transport.signal },
        limits,
      );
      await response.json();
    }
    expect(getEventListeners(transport.signal, 'abort')).toHaveLength(0);
  });

  it("rejects with the signal's reason when aborted before the answer", async () => {
    const url = await serve((_req, res) => setTimeout(() => res.end('{}'), 2_000));
    const controller = new AbortController();
    const reason = new Error('cancelled by the caller');
    setTimeout(() => controller.abort(reason), 50);
    await expect(
      fetchWithDispatcher(agent, url, { method: 'POST', body: '{}', signal: controller.signal }, limits),
    ).rejects.toBe(reason);
  });

  it('streams an event stream, each chunk seen by its meter first: the error it returns fails the stream', async () => {
    const event = `data: ${'x'.repeat(60)}\n\n`;
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.write(event);
      setTimeout(() => res.end(event), 20);
    });
    const metered = { ...limits, meter: meterAnswerStream({ bytes: 0 }, limits) };
    const post = await fetchWithDispatcher(agent, url, { method: 'POST', body: '{}' }, metered);
    const reader = post.body?.getReader();
    expect(new TextDecoder().decode((await reader?.read())?.value)).toBe(event);
    await expect(reader?.read()).rejects.toBeInstanceOf(TooLarge);
    const get = await fetchWithDispatcher(agent, url, { method: 'GET' }, limits);
    expect(await get.text()).toBe(event + event);
  });

  it('refuses a declared Content-Length over the limit, and what refuse() returns, before reading the body', async () => {
    const url = await serve((req, res) => {
      const status = req.method === 'GET' ? 403 : 200;
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': 200 });
      res.end(' '.repeat(200));
    });
    await expect(fetchWithDispatcher(agent, url, { method: 'POST', body: '{}' }, limits)).rejects.toBeInstanceOf(
      TooLarge,
    );
    const refused = new Error('refused');
    const refuse = (head: { status: number }) => (head.status === 403 ? refused : undefined);
    await expect(fetchWithDispatcher(agent, url, { method: 'GET' }, { ...limits, refuse })).rejects.toBe(refused);
  });

  it("rejects a network failure with TypeError('fetch failed'), the cause under it, as fetch does", async () => {
    const url = new URL(`http://127.0.0.1:${await closedPort()}/mcp`);
    const failure = await fetchWithDispatcher(agent, url, { method: 'POST', body: '{}' }, limits).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).message).toBe('fetch failed');
    expect((failure as TypeError).cause).toBeInstanceOf(Error);
  });
});
