import { context, trace } from '@opentelemetry/api';
import { isTracing } from './create-telemetry.ts';

/** W3C Trace Context `traceparent`: version 00, or a later version read by its first four fields (§3.2.4). */
const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;

/**
 * Runs `fn` as a child of the caller's trace, so the `tools/call` span (and its upstream span) join the agent's
 * trace: `traceparent` comes from the request's `params._meta` or the HTTP header. An absent, malformed or
 * all-zero value (W3C Trace Context §3.2.2.3: ignore it) starts a new trace instead; without a registered
 * OpenTelemetry SDK this is a plain call.
 */
export function continueTrace<T>(traceparent: unknown, fn: () => Promise<T>): Promise<T> {
  if (typeof traceparent !== 'string' || !isTracing()) return fn();
  const match = traceparentPattern.exec(traceparent);
  if (match === null) return fn();
  const [, version, traceId = '', spanId = '', flags = '00', rest] = match;
  if (version === 'ff' || (version === '00' && rest !== '') || /^0+$/.test(traceId) || /^0+$/.test(spanId)) {
    return fn();
  }
  const parent = trace.setSpanContext(context.active(), {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & 1,
    isRemote: true,
  });
  return context.with(parent, fn);
}
