import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../src/audit/index.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway } from '../support/start-test-gateway.ts';

/**
 * `audit.commitBeforeAnswer`: when a tools/call is answered relative to the commit of its outcome record. The
 * real gateway over the real audit log, with one seam: each outcome record's commit is held until the test
 * releases it, so "answered before the commit" and "answered only after it" are both observable.
 */

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_commit_order_0123456789abcdef';

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi();
});
afterAll(async () => {
  await api?.close();
});

interface Held {
  readonly tool: string;
  readonly answerFirst: boolean;
  committed: boolean;
  release(): void;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startGateway(commitBeforeAnswer: 'writes' | 'all' | undefined, logBusy = false) {
  const held: Held[] = [];
  let audit: AuditLog | undefined;
  const gateway = await startTestGateway(
    {
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      ...(commitBeforeAnswer === undefined ? {} : { audit: { commitBeforeAnswer } }),
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'open', openapi: description, baseUrl: `${api.url}/v1`, auth: { type: 'none' } }],
          toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none' }],
          clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
        },
      ],
    },
    {
      serveWith(adapters) {
        const real = adapters.audit as AuditLog;
        audit = real;
        const holding: AuditLog = {
          ...real,
          isIdle: () => !logBusy && real.isIdle(),
          async recordToolCall(entry, options) {
            let release = () => {};
            const gate = new Promise<void>((resolve) => {
              release = resolve;
            });
            const record: Held = {
              tool: entry.tool,
              answerFirst: options?.answerFirst === true,
              committed: false,
              release,
            };
            held.push(record);
            await gate;
            await real.recordToolCall(entry, options);
            record.committed = true;
          },
        };
        return { ...adapters, audit: holding };
      },
    },
  );
  cleanups.push(async () => {
    for (const record of held) record.release();
    await gateway.close();
  });
  return { url: gateway.url, held, audit: audit as AuditLog };
}

let rpcId = 0;
function callTool(url: string, name: string, args: Record<string, unknown>) {
  return fetch(`${url}/mcp/acme/all`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method: 'tools/call', params: { name, arguments: args } }),
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as { result?: unknown } }));
}

/** Resolves with the call's answer, or 'pending' when none came within `ms`. */
function answerWithin<T>(call: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([call, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);
}

describe('audit.commitBeforeAnswer', () => {
  it('writes (default): on an idle log a safe call is answered before its record commits, a write only after', async () => {
    const gateway = await startGateway(undefined);

    const read = await answerWithin(callTool(gateway.url, 'open_getItem', { itemId: 'a1' }), 2_000);
    expect(read).not.toBe('pending');
    expect(gateway.held).toHaveLength(1);
    expect(gateway.held[0]).toMatchObject({ tool: 'open_getItem', answerFirst: true, committed: false });

    const write = callTool(gateway.url, 'open_createItem', { body: { name: 'x' } });
    expect(await answerWithin(write, 300)).toBe('pending');
    expect(gateway.held[1]).toMatchObject({ tool: 'open_createItem', answerFirst: false, committed: false });
    gateway.held[1]?.release();
    expect((await write).status).toBe(200);
    expect(gateway.held[1]?.committed).toBe(true);

    // The safe call's record is written once released: answered first never means not recorded.
    gateway.held[0]?.release();
    await gateway.audit.flush();
    await expect.poll(() => gateway.held[0]?.committed).toBe(true);
  });

  it('writes: while the log is busy writing batches, a safe call waits for its batch like the others', async () => {
    const gateway = await startGateway('writes', true);
    const read = callTool(gateway.url, 'open_getItem', { itemId: 'a1' });
    expect(await answerWithin(read, 300)).toBe('pending');
    expect(gateway.held[0]).toMatchObject({ tool: 'open_getItem', answerFirst: false, committed: false });
    gateway.held[0]?.release();
    expect((await read).status).toBe(200);
    expect(gateway.held[0]?.committed).toBe(true);
  });

  it('a denied call has no side effects: answered first under writes', async () => {
    const gateway = await startGateway('writes');
    const denied = await answerWithin(callTool(gateway.url, 'open_noSuchTool', {}), 2_000);
    expect(denied).not.toBe('pending');
    expect(gateway.held[0]).toMatchObject({ tool: 'open_noSuchTool', answerFirst: true });
  });

  it('all: even a safe call is answered only once its record is committed', async () => {
    const gateway = await startGateway('all');
    const read = callTool(gateway.url, 'open_getItem', { itemId: 'a1' });
    expect(await answerWithin(read, 300)).toBe('pending');
    expect(gateway.held[0]).toMatchObject({ tool: 'open_getItem', answerFirst: false, committed: false });
    gateway.held[0]?.release();
    expect((await read).status).toBe(200);
    expect(gateway.held[0]?.committed).toBe(true);
  });
});
