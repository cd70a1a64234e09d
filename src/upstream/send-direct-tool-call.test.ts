import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { isGatehouseError } from '../core/index.ts';
import { createDirectCalls, type DirectCallHooks, redirected, sendDirectToolCall } from './send-direct-tool-call.ts';

/** What the scripted server received: each POST's headers and JSON body. */
interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/**
 * A real HTTP server on 127.0.0.1 standing in for an MCP server's endpoint: `answer` writes the answer to a
 * `tools/call` (given its request id); every other POST (a notification, an answer to a question) is answered by
 * `other`, else 202; a GET (a stream resumed) is answered by `resume`, given its `Last-Event-ID`, else 405.
 */
async function startScripted(
  answer: (response: ServerResponse, id: string) => void,
  resume?: (response: ServerResponse, lastEventId: string | undefined) => void,
  other?: (response: ServerResponse, body: Record<string, unknown>) => void,
) {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET') {
      received.push({ headers: request.headers, body: {} });
      const lastEventId = request.headers['last-event-id'];
      if (resume === undefined) response.writeHead(405).end();
      else resume(response, typeof lastEventId === 'string' ? lastEventId : undefined);
      return;
    }
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    request.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      received.push({ headers: request.headers, body });
      if (body['method'] === 'tools/call') answer(response, String(body['id']));
      else if (other !== undefined) other(response, body);
      else response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp?key=query-secret`);
  servers.push(server);
  return { url, received };
}
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

const sessionAt = (url: URL) => ({
  service: 'remote',
  url,
  headers: { authorization: 'Bearer upstream-secret' },
  // As the session's own fetch: no redirect followed.
  fetch: (input: string | URL, init?: RequestInit) => fetch(input, { ...init, redirect: 'manual' }),
  sessionId: 'session-1',
  protocolVersion: '2025-06-18',
  calls: createDirectCalls(),
  maxResponseBytes: 1_000_000,
  tooLarge: () => new Error('too large'),
});
const hooks = (more: Partial<DirectCallHooks> = {}): DirectCallHooks => ({
  timeoutMs: 5_000,
  onListChanged: () => {},
  cannotAsk: (method) => `cannot relay ${method}`,
  ...more,
});
const params = { name: 'echo', arguments: { text: 'hi' } };
/** Hooks that record, in order, each progress notice, log message (its data) and list change relayed. */
const recordingHooks = (seen: unknown[]) =>
  hooks({
    onProgress: (progress) => seen.push(['progress', progress]),
    onLog: (message) => seen.push(['log', message.data]),
    onListChanged: () => seen.push(['changed']),
  });
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('sendDirectToolCall()', () => {
  it('POSTs the call with the session headers and returns the result of a JSON answer', async () => {
    const { url, received } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'hi' }] } }));
    });
    const result = await sendDirectToolCall(sessionAt(url), params, hooks());
    expect(result).toEqual({ content: [{ type: 'text', text: 'hi' }] });
    const [call] = received;
    expect(call?.body).toMatchObject({ jsonrpc: '2.0', method: 'tools/call', params });
    expect(call?.headers).toMatchObject({
      authorization: 'Bearer upstream-secret',
      'mcp-session-id': 'session-1',
      'mcp-protocol-version': '2025-06-18',
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
    });
    expect(received).toHaveLength(1);
  });

  it('reads an event stream (CRLF lines, a line split between chunks) and relays progress, logs and list changes before the answer', async () => {
    const { url } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const progress = {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: id, progress: 1, total: 2 },
      };
      const log = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'working' } };
      const changed = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };
      const done = { jsonrpc: '2.0', id, result: { content: [], structuredContent: { ok: true } } };
      response.write(`: a comment\r\nevent: message\r\ndata: ${JSON.stringify(progress)}\r`);
      setTimeout(() => {
        response.write(`\n\r\ndata: ${JSON.stringify(log)}\n\nid: 7\ndata: ${JSON.stringify(changed)}\n\n`);
        response.end(`event: other\ndata: {"ignored":true}\n\ndata: ${JSON.stringify(done)}\n\n`);
      }, 20);
    });
    const seen: unknown[] = [];
    const result = await sendDirectToolCall(sessionAt(url), params, recordingHooks(seen));
    expect(result).toEqual({ content: [], structuredContent: { ok: true } });
    expect(seen).toEqual([['progress', { progress: 1, total: 2 }], ['log', 'working'], ['changed']]);
  });

  it('answers a question on the answer stream with an error saying why, and still returns the result', async () => {
    const { url, received } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const question = { jsonrpc: '2.0', id: 0, method: 'elicitation/create', params: { message: 'Sure?' } };
      response.write(`data: ${JSON.stringify(question)}\n\n`);
      setTimeout(
        () => response.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } })}\n\n`),
        50,
      );
    });
    expect(await sendDirectToolCall(sessionAt(url), params, hooks())).toEqual({ content: [] });
    await until(() => received.length === 2);
    expect(received[1]?.body).toEqual({
      jsonrpc: '2.0',
      id: 0,
      error: { code: -32600, message: 'cannot relay elicitation/create' },
    });
    expect(received[1]?.headers['mcp-session-id']).toBe('session-1');
  });

  it("reads on after the answer only within the call's time: a stream the server never ends is closed then", async () => {
    let closedAfter: number | undefined;
    const started = Date.now();
    const { url } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } })}\n\n`);
      response.on('close', () => {
        closedAfter = Date.now() - started;
      });
    });
    expect(await sendDirectToolCall(sessionAt(url), params, hooks({ timeoutMs: 300 }))).toEqual({ content: [] });
    await until(() => closedAfter !== undefined);
    expect(closedAfter).toBeGreaterThanOrEqual(250);
    expect(closedAfter).toBeLessThan(2_000);
  });

  it('throws a JSON-RPC error as the official client does (ProtocolError with its code)', async () => {
    const { url } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32602, message: 'Unknown tool: echo' } }));
    });
    const error = await sendDirectToolCall(sessionAt(url), params, hooks()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(-32602);
    expect((error as Error).message).toContain('Unknown tool: echo');
  });

  it('throws an HTTP refusal with its status (a forgotten session: 404), and leaves a redirect to the client', async () => {
    const gone = await startScripted((response) => response.writeHead(404).end('no such session'));
    const error = await sendDirectToolCall(sessionAt(gone.url), params, hooks()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SdkHttpError);
    expect((error as SdkHttpError).status).toBe(404);
    const moved = await startScripted((response) => response.writeHead(307, { location: '/elsewhere' }).end());
    expect(await sendDirectToolCall(sessionAt(moved.url), params, hooks())).toBe(redirected);
  });

  it('times out: aborts the POST, tells the server (notifications/cancelled) and throws RequestTimeout', async () => {
    const { url, received } = await startScripted(() => {
      // Never answers.
    });
    const error = await sendDirectToolCall(sessionAt(url), params, hooks({ timeoutMs: 100 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SdkError);
    expect((error as SdkError).code).toBe(SdkErrorCode.RequestTimeout);
    await until(() => received.length === 2);
    const callId = received[0]?.body['id'];
    expect(received[1]?.body).toMatchObject({
      method: 'notifications/cancelled',
      params: { requestId: callId, reason: 'Request timed out' },
    });
  });

  it("is cancelled by the caller's signal with the signal's reason, and tells the server", async () => {
    const { url, received } = await startScripted(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('client cancelled')), 50);
    const error = await sendDirectToolCall(sessionAt(url), params, hooks({ signal: controller.signal })).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('client cancelled');
    await until(() => received.length === 2);
    expect(received[1]?.body).toMatchObject({ method: 'notifications/cancelled' });
  });

  it('direct_call_sse_line_scan_quadratic: a long event line arriving in small chunks costs CPU in proportion to its length', async () => {
    // 4 MB in 1 KB writes: each chunk once searched for a line end from the start of the line cost ~11 s of CPU.
    const lineBytes = 4_000_000;
    const { url } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const piece = 'x'.repeat(1024);
      let sent = 0;
      const next = () => {
        if (sent >= lineBytes) {
          response.end(`\n\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } })}\n\n`);
          return;
        }
        sent += piece.length;
        response.write(piece);
        setImmediate(next);
      };
      next();
    });
    const before = process.cpuUsage();
    const session = { ...sessionAt(url), maxResponseBytes: 10_000_000 };
    expect(await sendDirectToolCall(session, params, hooks({ timeoutMs: 60_000 }))).toEqual({ content: [] });
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(3_000);
  }, 60_000);

  it('direct_call_stream_not_resumed: resumes an answer stream the server ended after an event id, waiting its retry time, and reads the answer replayed', async () => {
    let callId = '';
    const { url, received } = await startScripted(
      (response, id) => {
        callId = id;
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end('id: 7\nretry: 20\ndata: \n\n');
      },
      (response, lastEventId) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        if (lastEventId !== '7') response.end();
        else
          response.end(`id: 8\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: callId, result: { content: [] } })}\n\n`);
      },
    );
    expect(await sendDirectToolCall(sessionAt(url), params, hooks())).toEqual({ content: [] });
    expect(received[1]?.headers).toMatchObject({
      'last-event-id': '7',
      accept: 'text/event-stream',
      authorization: 'Bearer upstream-secret',
      'mcp-session-id': 'session-1',
    });
  });

  it("direct_call_resume_busy_loop: a server asking to be polled at once (retry: 0) and ending each stream is polled at most every 100 ms within the call's time", async () => {
    const poll = (response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end('id: 1\nretry: 0\ndata: \n\n');
    };
    const { url, received } = await startScripted(poll, poll);
    const error = await sendDirectToolCall(sessionAt(url), params, hooks({ timeoutMs: 1_000 })).catch(
      (e: unknown) => e,
    );
    expect((error as SdkError).code).toBe(SdkErrorCode.RequestTimeout);
    // Unbounded, it was about 240 a second.
    expect(received.filter((request) => request.headers['last-event-id'] !== undefined).length).toBeLessThanOrEqual(11);
  });

  it('direct_call_resumed_stream_uncapped: a resumed answer stream counts toward maxResponseBytes with the stream it resumes', async () => {
    const { url } = await startScripted(
      (response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(`: ${'x'.repeat(600_000)}\nid: 1\nretry: 0\ndata: \n\n`);
      },
      (response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(`: ${'x'.repeat(600_000)}`);
      },
    );
    const error = await sendDirectToolCall(sessionAt(url), params, hooks({ timeoutMs: 2_000 })).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('too large');
  });

  it('gives up resuming after two refusals in a row with an upstream_error, never an HTTP status (the call is not sent again)', async () => {
    const { url, received } = await startScripted(
      (response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end('id: 7\nretry: 10\ndata: \n\n');
      },
      (response) => response.writeHead(404).end(),
    );
    const error = await sendDirectToolCall(sessionAt(url), params, hooks()).catch((e: unknown) => e);
    expect(isGatehouseError(error) && error.code).toBe('upstream_error');
    expect((error as Error).message).toContain('HTTP 404');
    expect(received).toHaveLength(3);
  });

  it('direct_call_relays_after_answer: progress and log messages the server sends after its answer are dropped, as the SDK client drops them; a list change still counts', async () => {
    let ended = false;
    const { url } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } })}\n\n`);
      const late = [
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: id, progress: 9 } },
        { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'error', data: 'late' } },
        { jsonrpc: '2.0', method: 'notifications/tools/list_changed' },
      ];
      setTimeout(() => {
        response.end(late.map((message) => `data: ${JSON.stringify(message)}\n\n`).join(''));
        ended = true;
      }, 30);
    });
    const seen: unknown[] = [];
    const result = await sendDirectToolCall(sessionAt(url), params, recordingHooks(seen));
    expect(result).toEqual({ content: [] });
    await until(() => ended && seen.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([['changed']]);
  });

  it('direct_call_notice_answer_held_open: a stream the server opens in answer to a cancellation or a refused question is not kept open', async () => {
    const held: { closed: boolean }[] = [];
    const { url } = await startScripted(
      (response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const question = { jsonrpc: '2.0', id: 5, method: 'sampling/createMessage', params: {} };
        response.write(`data: ${JSON.stringify(question)}\n\n`);
      },
      undefined,
      (response) => {
        // Notifications and responses get 202 and no body; this server holds an event stream open instead.
        const stream = { closed: false };
        response.on('close', () => {
          stream.closed = true;
        });
        response.writeHead(200, { 'content-type': 'text/event-stream' }).write(': held\n\n');
        held.push(stream);
      },
    );
    await sendDirectToolCall(sessionAt(url), params, hooks({ timeoutMs: 200 })).catch(() => {});
    await until(() => held.length === 2 && held.every((stream) => stream.closed));
    expect(held).toEqual([{ closed: true }, { closed: true }]);
  });

  it('direct_call_question_flood: a server asking hundreds of questions at once gets its refusals one at a time, not a connection each', async () => {
    let open = 0;
    let mostOpen = 0;
    const { url } = await startScripted(
      (response, id) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const questions = Array.from({ length: 200 }, (_, n) => ({
          jsonrpc: '2.0',
          id: n,
          method: 'elicitation/create',
          params: {},
        }));
        response.write(questions.map((question) => `data: ${JSON.stringify(question)}\n\n`).join(''));
        setTimeout(() => {
          response.end(`data: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } })}\n\n`);
        }, 300);
      },
      undefined,
      (response) => {
        // Each refusal is answered late: refusals sent together are open together.
        open++;
        mostOpen = Math.max(mostOpen, open);
        setTimeout(() => {
          open--;
          response.writeHead(202).end();
        }, 20);
      },
    );
    expect(await sendDirectToolCall(sessionAt(url), params, hooks())).toEqual({ content: [] });
    expect(mostOpen).toBe(1);
  });

  it('direct_call_batch_after_answer: in a JSON batch the first response counts (as for the SDK client), and a question after it is still refused', async () => {
    const { url, received } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify([
          { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'first' }] } },
          { jsonrpc: '2.0', id: 9, method: 'elicitation/create', params: { message: 'Sure?' } },
          { jsonrpc: '2.0', id, error: { code: -32000, message: 'second' } },
        ]),
      );
    });
    expect(await sendDirectToolCall(sessionAt(url), params, hooks())).toEqual({
      content: [{ type: 'text', text: 'first' }],
    });
    await until(() => received.length === 2);
    expect(received[1]?.body).toMatchObject({ id: 9, error: { code: -32600 } });
  });

  it('direct_call_relay_hook_throws: a relay hook failing on a message (deep log data the scrubber cannot serialise) drops that message, not the call, as the SDK client drops it', async () => {
    const { url } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const log = { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'error', data: 'deep' } };
      const progress = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: id, progress: 1 } };
      const done = { jsonrpc: '2.0', id, result: { content: [] } };
      response.end([log, progress, done].map((message) => `data: ${JSON.stringify(message)}\n\n`).join(''));
    });
    const failing = () => {
      throw new RangeError('Maximum call stack size exceeded');
    };
    const result = await sendDirectToolCall(sessionAt(url), params, hooks({ onLog: failing, onProgress: failing }));
    expect(result).toEqual({ content: [] });
  });

  it('direct_call_error_message_not_text: a JSON-RPC error whose message is not text (here an array nested too deep to print) is still a ProtocolError with its code', async () => {
    const { url } = await startScripted((response, id) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const message = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      response.end(`{"jsonrpc":"2.0","id":"${id}","error":{"code":-32000,"message":${message}}}`);
    });
    const error = await sendDirectToolCall(sessionAt(url), params, hooks()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(-32000);
  });

  it('refuses an answer without a response to the call, naming the service', async () => {
    const { url } = await startScripted((response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ jsonrpc: '2.0', id: 'someone-else', result: {} }));
    });
    const error = await sendDirectToolCall(sessionAt(url), params, hooks()).catch((e: unknown) => e);
    expect(isGatehouseError(error) && error.code).toBe('upstream_error');
    expect((error as Error).message).toContain('remote');
  });
});
