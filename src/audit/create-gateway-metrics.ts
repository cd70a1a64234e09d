import type { ToolCallAuditEntry } from './create-audit-log.ts';
import {
  type Counter,
  createMetricsRegistry,
  type Histogram,
  type MetricsRegistry,
} from './create-metrics-registry.ts';
import { unknownToolName } from './create-usage-rollup.ts';

/** Outcome of one token refresh attempt, as the refresh engine reports it. */
export type RefreshOutcome = 'success' | 'sibling_rotated' | 'invalid_grant' | 'failure' | 'skipped';

/**
 * The gateway's Prometheus metrics. Labels hold only ids from the config and tool names from the catalogue, never
 * arguments or credentials; a tool name the catalogue does not know is counted as `_unknown`.
 */
export interface GatewayMetrics {
  readonly registry: MetricsRegistry;
  /** Counts a finished tool call and observes its latency; counts a limiter denial for `rate_limited`. */
  recordToolCall(entry: ToolCallAuditEntry): void;
  /** `gatehouse_upstream_request_duration_seconds{origin,outcome}`; origin is a configured service origin. */
  readonly upstreamDuration: Histogram;
  /** `gatehouse_token_refreshes_total{tenant,service,outcome}`: incremented by the refresh engine. */
  readonly refreshes: Counter;
  /** `gatehouse_cache_lookups_total{tenant,toolset,result}` with result `hit` or `miss`. */
  readonly cacheLookups: Counter;
  /** `gatehouse_limiter_denials_total{tenant,toolset}`. */
  readonly limiterDenials: Counter;
  /** `gatehouse_tokens_returned_total{tenant,toolset}`: model tokens in tool results (context economy). */
  readonly tokensReturned: Counter;
  /** `gatehouse_alerts_total{rule}` and `gatehouse_alert_deliveries_total{outcome}`. */
  readonly alerts: Counter;
  readonly alertDeliveries: Counter;
  /**
   * `gatehouse_admin_denials_total{tenant,audited}`: admin requests refused with 401. `tenant` is a configured
   * tenant id or `_none` (never the raw path segment), `audited` whether a security record was written.
   */
  readonly adminDenials: Counter;
  /**
   * `gatehouse_oauth_state_rejections_total{tenant,audited}`: OAuth callbacks refused for a pending authorization
   * of a configured tenant; `audited="false"` once the tenant's per-minute record cap is reached.
   */
  readonly oauthStateRejections: Counter;
  /**
   * `gatehouse_connect_link_refusals_total{tenant,reason,audited}`: connect links a signed-in person was refused
   * (`reason` `link_of_another_user` or `link_needs_admin`); `audited="false"` once the tenant's per-minute record cap
   * is reached (finding connect_link_refusals_over_cap_leave_no_trace).
   */
  readonly connectLinkRefusals: Counter;
  render(): string;
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createGatewayMetrics(registry: MetricsRegistry = createMetricsRegistry()): GatewayMetrics {
  const calls = registry.counter('gatehouse_tool_calls_total', 'Tool calls by outcome', [
    'tenant',
    'toolset',
    'tool',
    'decision',
    'status',
  ]);
  const failures = registry.counter('gatehouse_tool_call_errors_total', 'Denied and failed tool calls by code', [
    'tenant',
    'toolset',
    'code',
  ]);
  const callDuration = registry.histogram(
    'gatehouse_tool_call_duration_seconds',
    'Gateway latency of tools/call, from policy to audit',
    ['tenant', 'toolset'],
    latencyBuckets,
  );
  const limiterDenials = registry.counter('gatehouse_limiter_denials_total', 'Calls refused by a rate limit', [
    'tenant',
    'toolset',
  ]);
  return {
    registry,
    recordToolCall(entry) {
      const tool = entry.code === 'tool_not_found' ? unknownToolName : entry.tool;
      calls.inc({
        tenant: entry.tenant,
        toolset: entry.toolset,
        tool,
        decision: entry.decision,
        status: entry.upstreamStatus ?? 'none',
      });
      if (entry.code !== null) failures.inc({ tenant: entry.tenant, toolset: entry.toolset, code: entry.code });
      if (entry.code === 'rate_limited') limiterDenials.inc({ tenant: entry.tenant, toolset: entry.toolset });
      callDuration.observe({ tenant: entry.tenant, toolset: entry.toolset }, entry.latencyMs / 1000);
    },
    upstreamDuration: registry.histogram(
      'gatehouse_upstream_request_duration_seconds',
      'Upstream HTTP call latency',
      ['origin', 'outcome'],
      latencyBuckets,
    ),
    refreshes: registry.counter('gatehouse_token_refreshes_total', 'OAuth token refreshes by outcome', [
      'tenant',
      'service',
      'outcome',
    ]),
    cacheLookups: registry.counter('gatehouse_cache_lookups_total', 'Response cache lookups', [
      'tenant',
      'toolset',
      'result',
    ]),
    limiterDenials,
    tokensReturned: registry.counter('gatehouse_tokens_returned_total', 'Model tokens returned in tool results', [
      'tenant',
      'toolset',
    ]),
    alerts: registry.counter('gatehouse_alerts_total', 'Alerts raised', ['rule']),
    alertDeliveries: registry.counter('gatehouse_alert_deliveries_total', 'Alert webhook deliveries', ['outcome']),
    adminDenials: registry.counter('gatehouse_admin_denials_total', 'Admin API requests refused with 401', [
      'tenant',
      'audited',
    ]),
    oauthStateRejections: registry.counter(
      'gatehouse_oauth_state_rejections_total',
      'OAuth callbacks refused for a pending authorization',
      ['tenant', 'audited'],
    ),
    connectLinkRefusals: registry.counter(
      'gatehouse_connect_link_refusals_total',
      'Connect links refused to the signed-in person who opened them',
      ['tenant', 'reason', 'audited'],
    ),
    render: () => registry.render(),
  };
}
