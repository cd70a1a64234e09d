import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort as closedPort } from '../../test/support/free-port.ts';
import { startLegacyMcpUpstream, startModernMcpUpstream } from '../../test/support/start-mcp-upstream.ts';
import {
  type EndlessStream,
  type ScriptedRequest,
  startScriptedMcpServer,
  streamWithoutEnd,
} from '../../test/support/start-scripted-mcp-server.ts';
import { isGatehouseError } from '../core/index.ts';
import { createMcpUpstream, isRelayStorageEnabled, type McpUpstream } from './create-mcp-upstream.ts';

const target = (url: string) => ({
  tenant: 't',
  service: 'remote',
  url,
  credential: { type: 'bearer' as const, token: 'secret-token-0123456789' },
  timeoutMs: 5_000,
  connectTimeoutMs: 2_000,
  maxResponseBytes: 1_000_000,
});

let upstream: McpUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

async function failureOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isGatehouseError(error)) throw new Error(`expected a GatehouseError, got ${String(error)}`);
  return error;
}

describe('createMcpUpstream()', () => {
  it('refuses a private address that is not allowed (SSRF guard), before connecting', async () => {
    upstream = createMcpUpstream({ allowPrivateHosts: [] });
    for (const url of ['http://127.0.0.1:9/mcp', 'http://[::1]:9/mcp', 'http://169.254.169.254/mcp']) {
      const error = await failureOf(upstream.listTools(target(url)));
      expect(error.code).toBe('upstream_blocked');
      expect(error.message).not.toContain('secret-token');
    }
    expect(upstream.sessionCount()).toBe(0);
  });

  it('refuses a name that resolves to a private address, checked at connect time', async () => {
    upstream = createMcpUpstream({
      allowPrivateHosts: [],
      resolve: async () => [{ address: '10.0.0.7', family: 4 }],
    });
    const error = await failureOf(upstream.callTool(target('http://mcp.example.com/mcp'), 'x', {}));
    expect(error.code).toBe('upstream_blocked');
  });

  it('answers upstream_unreachable for a server that is down, naming the service and never the credential', async () => {
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const error = await failureOf(upstream.callTool(target(`http://127.0.0.1:${await closedPort()}/mcp`), 'x', {}));
    expect(error.code).toBe('upstream_unreachable');
    expect(error.message).toContain('remote');
    expect(JSON.stringify(error.details)).not.toContain('secret-token');
  });

  it('federated_not_mcp_error_code_only: a URL that answers but is not an MCP server is reported with what it answered, not an SDK code alone', async () => {
    const { createServer } = await import('node:http');
    const notMcp = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end('<soap:Envelope/>');
    });
    await new Promise<void>((resolve) => notMcp.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(notMcp.address() as { port: number }).port}/mcp`;
      upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
      const error = await failureOf(upstream.listTools(target(url)));
      expect(error.code).toBe('upstream_error');
      // Before: "The MCP server of remote failed: ERA_NEGOTIATION_FAILED", which says nothing of why.
      expect(error.message).toContain('text/xml');
      expect(error.message).not.toContain('secret-token');
    } finally {
      await new Promise((resolve) => notMcp.close(resolve));
    }
  });

  it('federated_unreachable_without_cause: a server that is down is reported with the socket error and the origin, as an HTTP upstream is', async () => {
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const port = await closedPort();
    // Both paths: a listing (the SDK client) and a tools/call (the direct call).
    for (const failing of [
      upstream.listTools(target(`http://127.0.0.1:${port}/mcp`)),
      upstream.callTool(target(`http://127.0.0.1:${port}/mcp`), 'x', {}),
    ]) {
      const error = await failureOf(failing);
      expect(error.code).toBe('upstream_unreachable');
      // Before: "The MCP server of remote cannot be reached" and { service } only: refused, DNS, TLS or a reset
      // looked the same to the operator reading the log, and nothing said which URL was tried.
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).toContain(`http://127.0.0.1:${port}`);
      expect(error.details).toMatchObject({
        service: 'remote',
        reason: 'ECONNREFUSED',
        origin: `http://127.0.0.1:${port}`,
      });
    }
  });
});

describe('createMcpUpstream() and a server that wants more scope', () => {
  it('answers upstream_insufficient_scope naming the challenged scopes, for a 403 or 401 insufficient_scope, and keeps the session', async () => {
    let status: 401 | 403 = 403;
    const server = await startLegacyMcpUpstream(
      [
        { name: 'read', call: () => ({ content: [{ type: 'text', text: 'read' }] }) },
        { name: 'write', call: () => ({ content: [{ type: 'text', text: 'wrote' }] }) },
      ],
      {
        accepts: async () => true,
        challenge: () => 'Bearer',
        documents: () => ({}),
        async refuses(_authorization, body) {
          const params = (body as { method?: string; params?: { name?: string } }).params;
          if ((body as { method?: string }).method !== 'tools/call' || params?.name !== 'write') return undefined;
          return {
            status,
            challenge: `Bearer error="insufficient_scope", scope="notes:write notes:read bad\\"scope", resource_metadata="${server.url}/meta"`,
          };
        },
      },
    );
    try {
      upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
      const to = target(server.url);
      for (const answered of [403, 401] as const) {
        status = answered;
        const error = await failureOf(upstream.callTool(to, 'write', {}));
        expect(error.code).toBe('upstream_insufficient_scope');
        expect(error.details).toMatchObject({ service: 'remote', status: answered });
        expect(error.details['missingScopes']).toEqual(['notes:write', 'notes:read']);
        expect(JSON.stringify(error)).not.toContain('secret-token');
      }
      // The refusal was of one request: the session goes on serving the others.
      expect((await upstream.callTool(to, 'read', {})).result?.['content']).toEqual([{ type: 'text', text: 'read' }]);
      expect(server.sessionsOpened()).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('createMcpUpstream() and the promise hooks of its relay', () => {
  it('turns the storage that relays questions and log messages off once no call is in flight', async () => {
    // On Node 20 an enabled AsyncLocalStorage keeps promise hooks on for every promise of the process.
    let during: boolean | undefined;
    const server = await startLegacyMcpUpstream(
      [
        {
          name: 'logs',
          call: async (_args, request) => {
            await request?.log('info', 'working');
            return { content: [{ type: 'text', text: 'done' }] };
          },
        },
      ],
      undefined,
      2,
      { logging: true },
    );
    try {
      upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
      const logged: unknown[] = [];
      const log = {
        level: 'info' as const,
        onMessage: (message: { data?: unknown }) => {
          logged.push(message.data);
          during = isRelayStorageEnabled();
        },
      };
      // A caller who cannot be asked, on a 2025-era session: a direct call, which relays without the storage.
      const direct = await upstream.callTool(target(server.url), 'logs', {}, { log });
      expect(direct.result?.['content']).toEqual([{ type: 'text', text: 'done' }]);
      expect(logged).toEqual(['working']);
      expect(during).toBe(false);
      // A caller who can be asked goes through the official client: the storage is on during the call only.
      const answer = await upstream.callTool(target(server.url), 'logs', {}, { log, ask: async () => ({}) });
      expect(answer.result?.['content']).toEqual([{ type: 'text', text: 'done' }]);
      expect(logged).toEqual(['working', 'working']);
      expect(during).toBe(true);
      expect(isRelayStorageEnabled()).toBe(false);
      // Two at once: the first to end leaves it on for the other.
      await Promise.all([
        upstream.callTool(target(server.url), 'logs', {}, { ask: async () => ({}) }),
        upstream.callTool(target(server.url), 'logs', {}, { ask: async () => ({}) }),
      ]);
      expect(isRelayStorageEnabled()).toBe(false);
    } finally {
      await server.close();
    }
  });
});

describe('createMcpUpstream() and a direct call (a 2025-era tools/call for a caller who cannot be asked)', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  it('direct_call_outlives_its_session: closing the upstream ends a call in flight at once, as the SDK client path does', async () => {
    const server = await startScriptedMcpServer(() => {
      // Never answers.
    });
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const slow = { ...target(server.url), timeoutMs: 10_000 };
    const pending = failureOf(upstream.callTool(slow, 'wait', {}));
    await until(() => server.received.some((request) => request.method === 'tools/call'));
    const started = Date.now();
    await upstream.close();
    upstream = undefined;
    const error = await pending;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error.message).toContain('CONNECTION_CLOSED');
  });

  it('direct_call_abort_listeners: many direct calls in flight at once add no listener to a shared signal (Node warned past ten)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const server = await startScriptedMcpServer((response, id) => {
        setTimeout(() => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } }));
        }, 50);
      });
      stops.push(server.close);
      upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
      const calls = Array.from({ length: 20 }, () => upstream?.callTool(target(server.url), 'scripted', {}));
      expect((await Promise.all(calls)).every((answer) => answer?.status === 200)).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('direct_call_invalid_json_unreachable: an answer that is not JSON is an upstream_error saying so on both paths, not "cannot be reached"', async () => {
    const server = await startScriptedMcpServer((response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc": "2.0", "id": ');
    });
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const ask = async () => ({ action: 'decline' });
    for (const options of [{}, { ask }]) {
      const error = await failureOf(upstream.callTool(target(server.url), 'scripted', {}, options));
      expect(error.code).toBe('upstream_error');
      expect(error.message).toBe('The MCP server of remote answered with something that is not JSON');
    }
  });

  it("federated_timeout_unnamed_setting: a timeout names the service's timeoutSeconds and its value", async () => {
    const server = await startScriptedMcpServer(() => {});
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const timedOut = await failureOf(upstream.callTool({ ...target(server.url), timeoutMs: 400 }, 'scripted', {}));
    expect(timedOut.code).toBe('upstream_timeout');
    expect(timedOut.message).toBe(
      "The MCP server of remote did not answer in time (within the service's timeoutSeconds, 0.4 s)",
    );
    expect(timedOut.details).toMatchObject({ timeoutSeconds: 0.4 });
  });

  it('direct_call_timeout_ends_its_neighbours: a call that times out leaves the session, and the calls in flight on it, alone', async () => {
    const server = await startScriptedMcpServer((response, id, body) => {
      // `slow` is never answered; `fast` is, within its own time.
      if ((body['params'] as { name?: string }).name !== 'fast') return;
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'fast' }] } }));
      }, 300);
    });
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const short = { ...target(server.url), timeoutMs: 400 };
    const slow = failureOf(upstream.callTool(short, 'slow', {}));
    await until(() => server.received.some((request) => request.method === 'tools/call'));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const fast = upstream.callTool(short, 'fast', {});
    expect((await slow).code).toBe('upstream_timeout');
    expect((await fast).result).toEqual({ content: [{ type: 'text', text: 'fast' }] });
    expect(server.received.filter((request) => request.method === 'initialize')).toHaveLength(1);
  });
});

describe('createMcpUpstream() and a server that closes answer streams (SEP-1699 polling)', () => {
  it('direct_call_stream_not_resumed: a call whose answer stream the server closed before answering is resumed by GET with Last-Event-ID, as the SDK client resumes it, and sent once', async () => {
    const server = await startLegacyMcpUpstream(
      [
        {
          name: 'slow',
          async call(_args, request) {
            request?.closeStream();
            await new Promise((resolve) => setTimeout(resolve, 200));
            return { content: [{ type: 'text', text: 'done' }] };
          },
        },
      ],
      undefined,
      2,
      { resumable: { retryMs: 50 } },
    );
    try {
      upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
      const answer = await upstream.callTool(target(server.url), 'slow', {});
      expect(answer.result).toEqual({ content: [{ type: 'text', text: 'done' }] });
      expect(server.calls).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe('createMcpUpstream() and a server asking to be reconnected at once (retry: 0), on the SDK client path', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });
  /** A caller who can be asked questions: its call goes through the SDK client, not the direct call. */
  const ask = async () => ({ action: 'decline' });
  /** An event stream that asks to be reconnected after `retry` ms (0: at once), and ends. */
  const endAsking =
    (retry = '0') =>
    (response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(`id: 1\nretry: ${retry}\ndata: \n\n`);
    };
  const small = (response: ServerResponse, id: string) =>
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ jsonrpc: '2.0', id: Number(id), result: { content: [] } }));
  const getsOf = (received: readonly ScriptedRequest[]) => received.filter((request) => request.method === 'GET');

  // 30000000000 ms does not fit a Node timer, which then fires after 1 ms.
  it.each(['0', '30000000000'])(
    'sdk_path_resume_busy_loop: a standalone stream the server keeps ending (retry: %s) is reopened at most every 100 ms, its first GET and the calls meanwhile not delayed',
    async (retry) => {
      const server = await startScriptedMcpServer(small, endAsking(retry));
      stops.push(server.close);
      upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
      const started = Date.now();
      expect(await upstream.listTools(target(server.url))).toHaveLength(1);
      await until(() => getsOf(server.received).length > 0);
      expect(Date.now() - started).toBeLessThan(1_000);
      const counted = getsOf(server.received).length;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const calling = Date.now();
      expect((await upstream.callTool(target(server.url), 'scripted', {}, { ask })).status).toBe(200);
      // Not held up behind the reopening (the count below is what tells the busy loop: ~410 GETs against <= 21). A
      // 100 ms bound here read 207 ms on a loaded 2-core machine, and the busy loop's own figure was 105 ms.
      expect(Date.now() - calling).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Unbounded, the SDK client reopened it at once, each time with its retry count back at zero: about 410 in 2 s.
      expect(getsOf(server.received).length - counted).toBeLessThanOrEqual(21);
    },
  );

  it('sdk_path_standalone_stream_churn: a standalone stream the server ends at once each time is reopened less and less often (100 ms, then twice the last wait, up to 30 s), not 10 times a second for as long as the session lives', async () => {
    const server = await startScriptedMcpServer(small, endAsking('0'));
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    expect(await upstream.listTools(target(server.url))).toHaveLength(1);
    await until(() => getsOf(server.received).length > 0);
    const counted = getsOf(server.received).length;
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    // Waits of 100, 200, 400 and 800 ms: 4 reopenings in 1.6 s. Before: one every 100 ms, 15 or 16.
    expect(getsOf(server.received).length - counted).toBeLessThanOrEqual(5);
    expect(getsOf(server.received).length - counted).toBeGreaterThanOrEqual(2);
  });

  it("sdk_path_resume_busy_loop: a request's answer stream the server keeps ending is resumed with Last-Event-ID at most every 100 ms within the call's time", async () => {
    const server = await startScriptedMcpServer(endAsking(), (response, lastEventId) => {
      if (lastEventId === undefined) return response.writeHead(405).end();
      endAsking()(response);
    });
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const error = await failureOf(
      upstream.callTool({ ...target(server.url), timeoutMs: 2_000 }, 'scripted', {}, { ask }),
    );
    expect(error.code).toBe('upstream_timeout');
    const resumed = getsOf(server.received).filter((request) => request.headers['last-event-id'] === '1');
    expect(resumed.length).toBeGreaterThan(0);
    // Unbounded, each resumed stream that ended started the SDK client's retry count from zero: about 780 in 2 s.
    expect(resumed.length).toBeLessThanOrEqual(21);
  });

  /**
   * A SEP-1699 server polling a call: each answer stream (the POST's, then every GET resuming it) carries an event id,
   * (`p1`, `p2` ...) asks `retry: 50` and ends (after `holdMs`), until the answer is ready `readyAfterMs` after the call. The standalone
   * stream's GETs (none resuming a `p` id) get `stream`.
   */
  async function startPollingServer(readyAfterMs: number, stream: (response: ServerResponse) => void, holdMs = 0) {
    let calledAt = 0;
    let polls = 0;
    const poll = (response: ServerResponse, id: string) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      polls++;
      if (Date.now() - calledAt < readyAfterMs) {
        response.write(`id: p${polls}\nretry: 50\ndata: \n\n`);
        if (holdMs === 0) return response.end();
        setTimeout(() => response.end(), holdMs);
        return;
      }
      const answer = { jsonrpc: '2.0', id: Number(id), result: { content: [{ type: 'text', text: 'ready' }] } };
      response.end(`id: p${polls}\ndata: ${JSON.stringify(answer)}\n\n`);
    };
    let callId = '';
    return startScriptedMcpServer(
      (response, id) => {
        calledAt = Date.now();
        callId = id;
        poll(response, id);
      },
      (response, lastEventId) => (lastEventId?.startsWith('p') ? poll(response, callId) : stream(response)),
    );
  }

  it("sdk_path_polling_call_starved: a call whose server closes its answer stream after each event (SEP-1699 polling, retry: 50) is resumed every 100 ms until its answer, not after ever longer waits past the call's timeout", async () => {
    const server = await startPollingServer(3_300, (response) => response.writeHead(405).end());
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const started = Date.now();
    // Doubling waits (100, 200 ... 3 200 ms) would resume it at 3.1 s, then 6.3 s: past the 5 s timeout.
    const answer = await upstream.callTool(target(server.url), 'scripted', {}, { ask });
    expect(answer.result).toEqual({ content: [{ type: 'text', text: 'ready' }] });
    expect(Date.now() - started).toBeLessThan(4_500);
  });

  it.each([0, 400])(
    'sdk_path_zombie_resumption: the answer stream of a call that timed out is not resumed any more (the server holding each poll %s ms)',
    async (holdMs) => {
      const server = await startPollingServer(1_000_000, (response) => response.writeHead(405).end(), holdMs);
      stops.push(server.close);
      upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
      const error = await failureOf(
        upstream.callTool({ ...target(server.url), timeoutMs: 1_000 }, 'scripted', {}, { ask }),
      );
      expect(error.code).toBe('upstream_timeout');
      const polls = () => getsOf(server.received).filter((r) => String(r.headers['last-event-id']).startsWith('p'));
      const atEnd = polls().length;
      expect(atEnd).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      // Before: resumed for as long as the session lived (7 more in 6.5 s, the waits doubling; every ~0.5 s for a
      // server holding each poll), as the request's context was gone once no request was in flight.
      expect(polls().length - atEnd).toBeLessThanOrEqual(1);
    },
  );

  it("sdk_path_polling_call_starved: a session's churning standalone stream does not lengthen the waits of a call's answer stream", async () => {
    const server = await startPollingServer(300, endAsking('0'));
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    expect(await upstream.listTools(target(server.url))).toHaveLength(1);
    // The standalone stream ends at once, again and again: reopened after 100, 200, 400, 800 ms, the next wait 1.6 s.
    const standalone = () => getsOf(server.received).filter((r) => !String(r.headers['last-event-id']).startsWith('p'));
    await until(() => standalone().length >= 5);
    expect(standalone()).toHaveLength(5);
    const started = Date.now();
    const answer = await upstream.callTool(target(server.url), 'scripted', {}, { ask });
    expect(answer.result).toEqual({ content: [{ type: 'text', text: 'ready' }] });
    // Sharing the standalone stream's backoff, the call's first resumption waited twice its last wait: 3.2 s.
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe('createMcpUpstream() and event streams past the size limit, on the SDK client path', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });
  const limit = 200_000;
  /** A caller who can be asked questions: its call goes through the SDK client, not the direct call. */
  const ask = async () => ({ action: 'decline' });
  const small = (response: ServerResponse, id: string) =>
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ jsonrpc: '2.0', id: Number(id), result: { content: [{ type: 'text', text: 'small' }] } }));
  const nameOf = (body: Record<string, unknown>) => (body['params'] as { name?: string }).name;

  it('sdk_path_oversized_stream_times_out: an answer stream past maxResponseBytes fails the call at once with upstream_too_large naming the service and the field, and the session serves the next call', async () => {
    let answered: EndlessStream | undefined;
    const server = await startScriptedMcpServer((response, id, body) => {
      if (nameOf(body) === 'small') return small(response, id);
      const head = `data: {"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"`;
      answered = streamWithoutEnd(response, head, 'x'.repeat(65_536));
    });
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const to = { ...target(server.url), maxResponseBytes: limit };
    const started = Date.now();
    const error = await failureOf(upstream.callTool(to, 'big', {}, { ask }));
    // Before: the call waited for its timeout (5 s) and failed with upstream_timeout.
    expect(error.code).toBe('upstream_too_large');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error.details).toMatchObject({ service: 'remote', maxResponseBytes: limit });
    expect(error.message).toContain('remote');
    expect(error.message).toContain('maxResponseBytes');
    await until(() => answered?.closed === true);
    expect(answered?.closed).toBe(true);
    expect((await upstream.callTool(to, 'small', {}, { ask })).result).toEqual({
      content: [{ type: 'text', text: 'small' }],
    });
    expect(server.received.filter((request) => request.method === 'initialize')).toHaveLength(1);
  });

  it('sdk_path_oversized_stream_times_out: a 2026-07-28 server streaming a resource read past maxResponseBytes (log messages before its answer) fails it at once', async () => {
    const server = await startModernMcpUpstream(
      (mcp) => {
        mcp.registerResource('chatty', 'modern://chatty', { mimeType: 'text/plain' }, async (uri, ctx) => {
          for (let i = 0; i < 100; i++) await ctx.mcpReq.log('info', 'l'.repeat(10_000));
          return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'read' }] };
        });
      },
      { logging: {} },
    );
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const to = { ...target(server.url), maxResponseBytes: limit };
    const log = { level: 'debug' as const, onMessage: () => {} };
    const started = Date.now();
    const error = await failureOf(upstream.readResource(to, 'modern://chatty', { log }));
    expect(error.code).toBe('upstream_too_large');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await upstream.readResource(to, 'modern://motd')).result?.['contents']).toHaveLength(1);
  });

  it('sdk_path_resumed_stream_uncapped: a stream resumed with Last-Event-ID counts toward maxResponseBytes with the one it resumes, and is cut off', async () => {
    let resumed: EndlessStream | undefined;
    const server = await startScriptedMcpServer(
      (response, _id, body) => {
        if (nameOf(body) === 'slow') return; // Never answered: a call in flight meanwhile.
        // An answer stream ended before its response, after an event id: the SDK client resumes it by GET.
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(`id: 1\nretry: 50\ndata: \n\n: ${'y'.repeat(limit / 2)}\n`);
      },
      (response, lastEventId) => {
        if (lastEventId === undefined) return response.writeHead(405).end();
        resumed = streamWithoutEnd(response, '', `data: ${'x'.repeat(65_536)}\n`);
      },
    );
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const to = { ...target(server.url), maxResponseBytes: limit };
    const slow = failureOf(upstream.callTool(to, 'slow', {}, { ask }));
    const started = Date.now();
    const error = await failureOf(upstream.callTool(to, 'scripted', {}, { ask }));
    // Before: the resumed stream was read without a cap until the call timed out (5 s).
    expect(error.code).toBe('upstream_too_large');
    expect(Date.now() - started).toBeLessThan(2_000);
    await until(() => resumed?.closed === true);
    expect(resumed?.closed).toBe(true);
    // The rest is what the sockets' buffers held when the gateway closed the stream.
    expect(resumed?.bytes).toBeLessThan(8_000_000);
    // The SDK client reopens a cut stream (here after 50 ms, as the server asks), for a request that is over: not
    // opened (while another call is in flight, as here, the relay's storage is on and knows the request is over;
    // with none in flight it is metered as the session's standalone stream).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const gets = server.received.filter((request) => request.method === 'GET');
    expect(gets.map((request) => request.headers['last-event-id'])).toEqual([undefined, '1']);
    await upstream.close();
    upstream = undefined;
    expect((await slow).message).toContain('CONNECTION_CLOSED');
  });

  it('sdk_path_standalone_get_uncapped: a standalone stream sending one event without end is cut off past maxResponseBytes, reported naming the service, not reopened, and the session goes on', async () => {
    let standalone: EndlessStream | undefined;
    const server = await startScriptedMcpServer(small, (response) => {
      standalone = streamWithoutEnd(response, '', `data: ${'x'.repeat(65_536)}\n`);
    });
    stops.push(server.close);
    const cutOff: unknown[] = [];
    upstream = createMcpUpstream({
      allowPrivateHosts: ['127.0.0.1'],
      onStreamCutOff: (tenant, service, error) => cutOff.push({ tenant, service, code: error.code }),
    });
    const to = { ...target(server.url), maxResponseBytes: limit };
    expect(await upstream.listTools(to)).toHaveLength(1);
    await until(() => standalone?.closed === true);
    // Before: the gateway read it without end (the server stopped at 20 MB).
    expect(standalone?.closed).toBe(true);
    expect(standalone?.bytes).toBeLessThan(8_000_000);
    expect(cutOff).toEqual([{ tenant: 't', service: 'remote', code: 'upstream_too_large' }]);
    expect((await upstream.callTool(to, 'scripted', {}, { ask })).status).toBe(200);
    // The SDK client tries to reopen it (1 s, then 2 s later): refused without reaching the server.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(server.received.filter((request) => request.method === 'GET')).toHaveLength(1);
    expect(upstream.sessionCount()).toBe(1);
  });

  it('sdk_path_standalone_get_uncapped: a standalone stream of small events without end is cut off past maxResponseBytes within a minute', async () => {
    let standalone: EndlessStream | undefined;
    const notice = JSON.stringify({
      jsonrpc: '2.0',
      method: 'notifications/message',
      params: { level: 'info', data: 'z'.repeat(1_000) },
    });
    const server = await startScriptedMcpServer(small, (response) => {
      standalone = streamWithoutEnd(response, '', `data: ${notice}\n\n`);
    });
    stops.push(server.close);
    const cutOff: unknown[] = [];
    upstream = createMcpUpstream({
      allowPrivateHosts: ['127.0.0.1'],
      onStreamCutOff: (_tenant, service, error) => cutOff.push({ service, code: error.code }),
    });
    const to = { ...target(server.url), maxResponseBytes: limit };
    await upstream.listTools(to);
    await until(() => standalone?.closed === true);
    expect(standalone?.closed).toBe(true);
    expect(standalone?.bytes).toBeLessThan(8_000_000);
    expect(cutOff).toEqual([{ service: 'remote', code: 'upstream_too_large' }]);
    expect((await upstream.callTool(to, 'scripted', {}, { ask })).status).toBe(200);
  });
});

async function until(check: () => boolean) {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}
