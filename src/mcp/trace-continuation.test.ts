import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Context,
  type ContextManager,
  context,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type SpanContext,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { continueTrace } from '../audit/index.ts';
import { createHttpApp, type RunningHttpServer, startHttpServer } from '../http/index.ts';
import { createFakeGateway } from './_fake-gateway.ts';
import { mcpPathCounts } from './create-mcp-endpoint.ts';

/**
 * Issue 13: a tools/call joins the agent's trace from `params._meta.traceparent` or the HTTP `traceparent`
 * header. What makes the gateway's `tools/call` span a child is the active OpenTelemetry context while
 * `gateway.callTool` runs (`startActiveSpan` parents on it), so that is what these tests observe, with the
 * context carried by AsyncLocalStorage as an SDK's context manager does.
 */
class AsyncLocalContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanId = '00f067aa0ba902b7';
const valid = `00-${traceId}-${spanId}-01`;

let server: RunningHttpServer;
const seen: (SpanContext | undefined)[] = [];

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalContextManager());
  // Any provider other than the API's no-op one means "an SDK is registered".
  const provider: TracerProvider = { getTracer: () => new ProxyTracerProvider().getTracer('unused') };
  trace.setGlobalTracerProvider(provider);
  const gateway = createFakeGateway();
  const callTool = gateway.callTool.bind(gateway);
  gateway.callTool = (...args) => {
    seen.push(trace.getSpanContext(context.active()));
    return callTool(...args);
  };
  server = await startHttpServer(createHttpApp({ gateway, publicUrl: 'http://127.0.0.1:8787' }), {
    host: '127.0.0.1',
    port: 0,
  });
});
afterAll(async () => {
  // Globals first: nothing after this file in the same worker may see a registered provider, whatever the close.
  trace.disable();
  context.disable();
  await server.close();
});

async function call(meta: Record<string, unknown> | undefined, headers: Record<string, string> = {}) {
  seen.length = 0;
  const response = await fetch(`${server.url}/mcp/t/s`, {
    method: 'POST',
    headers: {
      authorization: 'Bearer key-t',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: {}, ...(meta ? { _meta: meta } : {}) },
    }),
  });
  expect(response.status).toBe(200);
  await response.text();
  expect(seen).toHaveLength(1);
  return seen[0];
}

describe('trace continuation of tools/call', () => {
  it('continues params._meta.traceparent: the call runs under the remote parent span', async () => {
    expect(await call({ traceparent: valid })).toEqual({ traceId, spanId, traceFlags: 1, isRemote: true });
  });

  it('falls back to the HTTP traceparent header', async () => {
    expect(await call(undefined, { traceparent: valid })).toMatchObject({ traceId, spanId, isRemote: true });
  });

  it('prefers _meta over the header', async () => {
    const other = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`;
    expect(await call({ traceparent: other }, { traceparent: valid })).toMatchObject({
      traceId: 'a'.repeat(32),
      traceFlags: 0,
    });
  });

  it('the SDK leg continues it too (a 2025-03-26 batch, which the fast path leaves to the SDK)', async () => {
    seen.length = 0;
    const sdkBefore = mcpPathCounts.sdk;
    const response = await fetch(`${server.url}/mcp/t/s`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer key-t',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        traceparent: valid,
      },
      body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } }]),
    });
    await response.text();
    expect(mcpPathCounts.sdk).toBe(sdkBefore + 1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ traceId, spanId, isRemote: true });
  });

  it.each([
    ['malformed', 'not-a-traceparent'],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${spanId}-01`],
    ['all-zero span id', `00-${traceId}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${traceId}-${spanId}-01`],
    ['version 00 with extra fields', `${valid}-extra`],
  ])('ignores a %s traceparent (W3C Trace Context): a new trace starts', async (_name, value) => {
    expect(await call({ traceparent: value })).toBeUndefined();
  });

  it('a later version is read by its first four fields', async () => {
    expect(
      await continueTrace(`01-${traceId}-${spanId}-01-future`, async () => trace.getSpanContext(context.active())),
    ).toMatchObject({ traceId, spanId });
  });
});
