import { type Span, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetry } from './create-telemetry.ts';

describe('createTelemetry', () => {
  // Unit files share a worker: start from no registered provider, and leave none.
  beforeAll(() => trace.disable());
  afterAll(() => trace.disable());

  it('runs spans as no-ops without an SDK, and records them once a provider is registered', async () => {
    const telemetry = createTelemetry();
    expect(await telemetry.span('tools/call', { a: 1 }, async (span) => span.isRecording())).toBe(false);

    const ended: { name: string; attributes: Record<string, unknown>; status?: unknown }[] = [];
    const provider: TracerProvider = {
      getTracer: () => {
        const base = trace.wrapSpanContext({ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1 });
        const start = (name: string, options?: { attributes?: Record<string, unknown> }): Span => {
          const record: (typeof ended)[number] = { name, attributes: { ...(options?.attributes ?? {}) } };
          return Object.assign(Object.create(base) as Span, {
            setAttribute: (k: string, v: unknown) => {
              record.attributes[k] = v;
              return undefined as unknown as Span;
            },
            setStatus: (s: unknown) => {
              record.status = s;
              return undefined as unknown as Span;
            },
            isRecording: () => true,
            end: () => void ended.push(record),
          });
        };
        const tracer = {
          startSpan: start,
          startActiveSpan: (
            name: string,
            options: { attributes?: Record<string, unknown> },
            fn: (s: Span) => unknown,
          ) => fn(start(name, options)),
        };
        return tracer as unknown as Tracer;
      },
    };
    trace.setGlobalTracerProvider(provider);
    const outcome = await telemetry.span(
      'tools/call',
      { 'gatehouse.tenant': 'acme' },
      async () => ({ ok: false as const, code: 'upstream_timeout' }),
      (o) => o.code,
    );
    expect(outcome.ok).toBe(false);
    await expect(
      telemetry.span('upstream', {}, async () => {
        throw Object.assign(new Error('boom'), { code: 'upstream_error' });
      }),
    ).rejects.toThrow('boom');
    expect(ended.map((s) => s.name)).toEqual(['tools/call', 'upstream']);
    expect(ended[0]).toMatchObject({
      attributes: { 'gatehouse.tenant': 'acme' },
      status: { code: 2, message: 'upstream_timeout' },
    });
    expect(ended[1]?.status).toEqual({ code: 2, message: 'upstream_error' });
  });

  it('never throws from a report, even when a sink fails', () => {
    const warnings: string[] = [];
    const telemetry = createTelemetry({
      usage: {
        record: () => {
          throw new Error('x');
        },
        flush: async () => {},
        flushOlderThan: async () => {},
        close: async () => {},
      },
      logger: { info: () => {}, warn: (_d, m) => warnings.push(m) },
    });
    expect(() =>
      telemetry.toolCall({
        tenant: 'a',
        toolset: 's',
        tool: 't',
        decision: 'allow',
        code: null,
        upstreamStatus: 200,
        latencyMs: 1,
      } as never),
    ).not.toThrow();
    expect(warnings).toEqual(['telemetry: toolCall failed']);
  });

  it('logs one line per tool call with its outcome, and never its arguments', () => {
    const lines: { details: Record<string, unknown>; message: string }[] = [];
    const telemetry = createTelemetry({
      logger: { info: (details, message) => lines.push({ details, message }), warn: () => {} },
    });
    telemetry.toolCall({
      tenant: 'a',
      requestId: 'r1',
      toolset: 's',
      clientKey: 'agent',
      subject: 'alice',
      tool: 'tasks_deleteTask',
      method: 'DELETE',
      pathTemplate: '/tasks/{id}',
      decision: 'deny',
      code: 'approval_required',
      upstreamStatus: null,
      latencyMs: 1.234,
      args: { id: 'secret-argument' },
    } as never);
    expect(lines).toEqual([
      {
        message: 'tool call',
        details: {
          requestId: 'r1',
          tenant: 'a',
          toolset: 's',
          clientKey: 'agent',
          subject: 'alice',
          tool: 'tasks_deleteTask',
          decision: 'deny',
          code: 'approval_required',
          upstreamStatus: null,
          latencyMs: 1.2,
        },
      },
    ]);
  });
});
