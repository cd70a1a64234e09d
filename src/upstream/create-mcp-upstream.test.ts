import { afterEach, describe, expect, it } from 'vitest';
import { freePort as closedPort } from '../../test/support/free-port.ts';
import { failureOf, mcpTarget } from '../../test/support/mcp-upstream-target.ts';
import { startLegacyMcpUpstream } from '../../test/support/start-mcp-upstream.ts';
import { startScriptedMcpServer } from '../../test/support/start-scripted-mcp-server.ts';
import { createMcpUpstream, isRelayStorageEnabled, type McpUpstream } from './create-mcp-upstream.ts';

let upstream: McpUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

describe('createMcpUpstream()', () => {
  it('refuses a private address that is not allowed (SSRF guard), before connecting', async () => {
    upstream = createMcpUpstream({ allowPrivateHosts: [] });
    for (const url of ['http://127.0.0.1:9/mcp', 'http://[::1]:9/mcp', 'http://169.254.169.254/mcp']) {
      const error = await failureOf(upstream.listTools(mcpTarget(url)));
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
    const error = await failureOf(upstream.callTool(mcpTarget('http://mcp.example.com/mcp'), 'x', {}));
    expect(error.code).toBe('upstream_blocked');
  });

  it('answers upstream_unreachable for a server that is down, naming the service and never the credential', async () => {
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const error = await failureOf(upstream.callTool(mcpTarget(`http://127.0.0.1:${await closedPort()}/mcp`), 'x', {}));
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
      const error = await failureOf(upstream.listTools(mcpTarget(url)));
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
      upstream.listTools(mcpTarget(`http://127.0.0.1:${port}/mcp`)),
      upstream.callTool(mcpTarget(`http://127.0.0.1:${port}/mcp`), 'x', {}),
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
      const to = mcpTarget(server.url);
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
      const direct = await upstream.callTool(mcpTarget(server.url), 'logs', {}, { log });
      expect(direct.result?.['content']).toEqual([{ type: 'text', text: 'done' }]);
      expect(logged).toEqual(['working']);
      expect(during).toBe(false);
      // A caller who can be asked goes through the official client: the storage is on during the call only.
      const answer = await upstream.callTool(mcpTarget(server.url), 'logs', {}, { log, ask: async () => ({}) });
      expect(answer.result?.['content']).toEqual([{ type: 'text', text: 'done' }]);
      expect(logged).toEqual(['working', 'working']);
      expect(during).toBe(true);
      expect(isRelayStorageEnabled()).toBe(false);
      // Two at once: the first to end leaves it on for the other.
      await Promise.all([
        upstream.callTool(mcpTarget(server.url), 'logs', {}, { ask: async () => ({}) }),
        upstream.callTool(mcpTarget(server.url), 'logs', {}, { ask: async () => ({}) }),
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
    const slow = { ...mcpTarget(server.url), timeoutMs: 10_000 };
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
      const calls = Array.from({ length: 20 }, () => upstream?.callTool(mcpTarget(server.url), 'scripted', {}));
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
      const error = await failureOf(upstream.callTool(mcpTarget(server.url), 'scripted', {}, options));
      expect(error.code).toBe('upstream_error');
      expect(error.message).toBe('The MCP server of remote answered with something that is not JSON');
    }
  });

  it("federated_timeout_unnamed_setting: a timeout names the service's timeoutSeconds and its value", async () => {
    const server = await startScriptedMcpServer(() => {});
    stops.push(server.close);
    upstream = createMcpUpstream({ allowPrivateHosts: ['127.0.0.1'] });
    const timedOut = await failureOf(upstream.callTool({ ...mcpTarget(server.url), timeoutMs: 400 }, 'scripted', {}));
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
    const short = { ...mcpTarget(server.url), timeoutMs: 400 };
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
      const answer = await upstream.callTool(mcpTarget(server.url), 'slow', {});
      expect(answer.result).toEqual({ content: [{ type: 'text', text: 'done' }] });
      expect(server.calls).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

/** Waits (up to 3 s, every 10 ms) until `check` holds. */
async function until(check: () => boolean) {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}
