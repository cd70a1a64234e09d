import { INVALID_SPAN_CONTEXT, ProxyTracerProvider, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { AlertEngine } from './create-alert-engine.ts';
import type { ToolCallAuditEntry } from './create-audit-log.ts';
import { createGatewayMetrics, type GatewayMetrics, type RefreshOutcome } from './create-gateway-metrics.ts';
import type { UsageRollup } from './create-usage-rollup.ts';

/** The logger slice telemetry uses. */
export interface TelemetryLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface TelemetryOptions {
  readonly metrics?: GatewayMetrics;
  readonly usage?: UsageRollup;
  readonly alerts?: AlertEngine;
  readonly logger?: TelemetryLogger;
}

/**
 * The one sink for what happened, besides the audit log: metrics, usage rollups, alert rules and trace spans.
 * Every method is synchronous and never throws, so instrumentation cannot fail a call. Other modules report
 * through it: the gateway per tool call, the refresh engine per refresh, the cache per lookup, shaping per result.
 */
export interface Telemetry {
  readonly metrics: GatewayMetrics;
  /** A finished tool call (the same entry as its audit record). */
  toolCall(entry: ToolCallAuditEntry): void;
  /** A token refresh attempt of a connection and how it ended. */
  refresh(event: { readonly tenant: string; readonly service: string; readonly outcome: RefreshOutcome }): void;
  /** A connection changed status (`needs_reauth` raises an alert at once). */
  connectionStatus(event: {
    readonly tenant: string;
    readonly service: string;
    readonly subject: string;
    readonly status: string;
  }): void;
  cacheLookup(event: { readonly tenant: string; readonly toolset: string; readonly hit: boolean }): void;
  /** Model tokens in a tool result returned to a client. */
  tokensReturned(event: { readonly tenant: string; readonly toolset: string; readonly tokens: number }): void;
  /**
   * Runs `fn` in an OpenTelemetry span (`@opentelemetry/api`; a no-op unless an SDK is registered). `failed` tells
   * from the result whether the span ends in error, with a code (never a message) as its description.
   */
  span<T>(
    name: string,
    attributes: Readonly<Record<string, string | number>>,
    fn: (span: Span) => Promise<T>,
    failed?: (result: T) => string | undefined,
  ): Promise<T>;
  /** Writes pending usage and stops timers. */
  close(): Promise<void>;
}

/** The API's no-op provider: what the global provider delegates to until an OpenTelemetry SDK registers one. */
const noopProvider = new ProxyTracerProvider().getDelegate();
/** Handed to span functions while nothing records spans; accepts and ignores attributes and status. */
const nonRecordingSpan = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Whether an OpenTelemetry SDK is registered, asked per span so one registered after start is honoured. Without
 * one, `span()` skips the API's span and context objects (a measurable share of a tool call's CPU).
 */
export function isTracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== noopProvider;
}

export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  const metrics = options.metrics ?? createGatewayMetrics();
  const guard = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (error) {
      options.logger?.warn({ err: error }, `telemetry: ${what} failed`);
    }
  };
  return {
    metrics,
    toolCall(entry) {
      guard('toolCall', () => {
        // One line per tool call, the operator's view of the audit record: never arguments, results or secrets.
        options.logger?.info(
          {
            requestId: entry.requestId,
            tenant: entry.tenant,
            toolset: entry.toolset,
            clientKey: entry.clientKey,
            subject: entry.subject,
            tool: entry.tool,
            decision: entry.decision,
            code: entry.code,
            upstreamStatus: entry.upstreamStatus,
            latencyMs: Math.round(entry.latencyMs * 10) / 10,
            ...(entry.cached ? { cached: true } : {}),
          },
          'tool call',
        );
        metrics.recordToolCall(entry);
        options.usage?.record(entry);
        options.alerts?.observeToolCall(entry);
      });
    },
    refresh(event) {
      guard('refresh', () => {
        metrics.refreshes.inc({ tenant: event.tenant, service: event.service, outcome: event.outcome });
        const ok = event.outcome === 'success' || event.outcome === 'sibling_rotated' || event.outcome === 'skipped';
        options.alerts?.observeRefresh({ tenant: event.tenant, service: event.service, ok });
      });
    },
    connectionStatus(event) {
      guard('connectionStatus', () => options.alerts?.observeConnectionStatus(event));
    },
    cacheLookup(event) {
      guard('cacheLookup', () =>
        metrics.cacheLookups.inc({ tenant: event.tenant, toolset: event.toolset, result: event.hit ? 'hit' : 'miss' }),
      );
    },
    tokensReturned(event) {
      guard('tokensReturned', () =>
        metrics.tokensReturned.inc({ tenant: event.tenant, toolset: event.toolset }, event.tokens),
      );
    },
    span(name, attributes, fn, failed) {
      if (!isTracing()) return fn(nonRecordingSpan);
      // The tracer is asked for per span, not kept from start: one kept across a provider's re-registration
      // (an SDK restarted, `trace.disable()`) would keep delegating to the old, no-op provider.
      return trace.getTracer('gatehouse').startActiveSpan(name, { attributes }, async (span) => {
        try {
          const result = await fn(span);
          const code = failed?.(result);
          if (code !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
          return result;
        } catch (error) {
          const code = (error as { code?: unknown } | null)?.code;
          span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'error' });
          throw error;
        } finally {
          span.end();
        }
      });
    },
    async close() {
      options.alerts?.close();
      await options.usage?.close();
    },
  };
}
