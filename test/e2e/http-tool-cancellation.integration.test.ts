import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpPathCounts } from '../../src/mcp/create-mcp-endpoint.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * A client's cancellation of an HTTP tool's call ends the upstream request (finding of the issue 12 note: only
 * federated tools passed it on, so an HTTP call the client gave up on held its upstream request and its concurrency
 * slot until the service's timeout). Both SDK clients cancel a call whose upstream never answers; the upstream sees
 * its request closed at once, and the call is audited `cancelled` (the client's doing, not the upstream's failure).
 * The 2025-era client cancels twice: a plain call (answered by the endpoint's fast path) and one asking for
 * progress (answered by the SDK, as an event stream).
 */
const clientKey = 'gatehouse_sk_http_cancel_0123456789abcdef';
let upstream: FakeApi;
let gateway: TestGateway;
/** Item ids whose upstream request was closed before it was answered. */
const closedEarly: string[] = [];

beforeAll(async () => {
  upstream = await startFakeApi();
  upstream.handle((request, res: ServerResponse) => {
    // Never answers: only the gateway closing the request ends it.
    const id = request.path.split('/').at(-1) ?? '';
    res.on('close', () => {
      if (!res.writableEnded) closedEarly.push(id);
    });
  });
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          {
            id: 'pets',
            openapi: fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url)),
            baseUrl: upstream.url,
            timeoutSeconds: 60,
          },
        ],
        toolsets: [{ id: 'all', tools: ['pets_*'], access: 'write', approval: 'none' }],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'] }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 12_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('cancelling an HTTP tool call', () => {
  it('http_cancel_not_relayed: the upstream request ends when the client cancels (clients of both eras, fast and SDK paths), audited cancelled', async () => {
    const url = new URL(`${gateway.url}/mcp/acme/all`);
    const requestInit = { headers: { Authorization: `Bearer ${clientKey}` } };
    for (const era of ['modern', 'legacy', 'legacy-progress'] as const) {
      const itemId = `cancel-${era}`;
      const abort = new AbortController();
      const received = upstream.received.length;
      let paths = { ...mcpPathCounts };
      let pending: Promise<unknown>;
      let close: () => Promise<void>;
      if (era === 'modern') {
        const client = new ClientV2({ name: 'cancel', version: '1.0.0' });
        await client.connect(new TransportV2(url, { requestInit }));
        paths = { ...mcpPathCounts };
        pending = client.callTool({ name: 'pets_getItem', arguments: { itemId } }, { signal: abort.signal });
        close = () => client.close();
      } else {
        const client = new ClientV1({ name: 'cancel', version: '1.0.0' });
        await client.connect(new TransportV1(url, { requestInit }));
        paths = { ...mcpPathCounts };
        pending = client.callTool({ name: 'pets_getItem', arguments: { itemId } }, undefined, {
          signal: abort.signal,
          // A progress token: the call is served by the SDK (streamed), not by the fast path.
          ...(era === 'legacy-progress' ? { onprogress: () => {} } : {}),
        });
        close = () => client.close();
      }
      const settled = pending.then(
        () => 'answered',
        () => 'rejected',
      );
      await until(() => upstream.received.length > received, `the upstream request (${era})`);
      expect(era === 'legacy-progress' ? mcpPathCounts.sdk - paths.sdk : mcpPathCounts.fast - paths.fast).toBe(1);
      const cancelledAt = Date.now();
      abort.abort('the user stopped it');
      expect(await settled).toBe('rejected');
      await until(() => closedEarly.includes(itemId), `the upstream request to close (${era})`);
      // Well before the service's 60 s timeout: in under a fifth of it.
      expect(Date.now() - cancelledAt).toBeLessThan(12_000);
      await close();
    }
    const records = async () =>
      (await gateway.adapters.store.audit.query({ tenantId: 'acme' })).filter((r) => r.kind === 'tool_call');
    for (let i = 0; i < 100 && (await records()).length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await records()).map((r) => [r.tool, r.decision, r.code])).toEqual([
      ['pets_getItem', 'error', 'cancelled'],
      ['pets_getItem', 'error', 'cancelled'],
      ['pets_getItem', 'error', 'cancelled'],
    ]);
  });
});
