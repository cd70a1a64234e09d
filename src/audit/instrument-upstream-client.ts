import type { UpstreamClient } from '../upstream/index.ts';
import type { Telemetry } from './create-telemetry.ts';

/** The logger slice used for upstream trace lines. */
export interface UpstreamTraceLogger {
  isLevelEnabled(level: string): boolean;
  trace(details: Record<string, unknown>, message: string): void;
}

/**
 * Wraps an upstream client with a span (`upstream`, child of the tool call's span), a latency observation
 * (`gatehouse_upstream_request_duration_seconds{origin,outcome}`) and, at trace level, a log line per request and
 * response. Those lines carry the outgoing headers (credential included): the logger's redaction removes them,
 * which is exactly what the canary harness (LG-01) checks.
 */
export function instrumentUpstreamClient(
  client: UpstreamClient,
  telemetry: Telemetry,
  logger?: UpstreamTraceLogger,
): UpstreamClient {
  return {
    send(call) {
      const started = performance.now();
      const origin = call.allowedOrigin;
      const traced = logger?.isLevelEnabled('trace') === true;
      if (traced) {
        logger?.trace(
          { upstream: { method: call.method, url: call.url.href, headers: call.headers } },
          'upstream request',
        );
      }
      return telemetry.span(
        'upstream',
        { 'http.request.method': call.method, 'server.origin': origin },
        async (span) => {
          try {
            const response = await client.send(call);
            span.setAttribute('http.response.status_code', response.status);
            telemetry.metrics.upstreamDuration.observe(
              { origin, outcome: String(response.status) },
              (performance.now() - started) / 1000,
            );
            if (traced) {
              logger?.trace(
                { upstream: { status: response.status, headers: response.headers, bytes: response.body.byteLength } },
                'upstream response',
              );
            }
            return response;
          } catch (error) {
            const code = (error as { code?: unknown } | null)?.code;
            telemetry.metrics.upstreamDuration.observe(
              { origin, outcome: typeof code === 'string' ? code : 'error' },
              (performance.now() - started) / 1000,
            );
            if (traced) logger?.trace({ err: error }, 'upstream failed');
            throw error;
          }
        },
      );
    },
    close: () => client.close(),
    abort: () => client.abort(),
  };
}
