import { describe, expect, it } from 'vitest';
import type { ToolCallAuditEntry } from './create-audit-log.ts';
import { createGatewayMetrics } from './create-gateway-metrics.ts';
import { createMetricsRegistry } from './create-metrics-registry.ts';

const entry = (over: Partial<ToolCallAuditEntry>): ToolCallAuditEntry =>
  ({
    tenant: 'acme',
    requestId: 'r1',
    toolset: 'support',
    clientKey: 'agent',
    subject: 'alice',
    tool: 'pets_listPets',
    method: 'GET',
    pathTemplate: '/pets',
    decision: 'allow',
    code: null,
    upstreamStatus: 200,
    latencyMs: 12,
    ...over,
  }) as ToolCallAuditEntry;

describe('createGatewayMetrics', () => {
  it('renders calls, errors, limiter denials and latency in the Prometheus text format', () => {
    const metrics = createGatewayMetrics();
    metrics.recordToolCall(entry({}));
    metrics.recordToolCall(entry({}));
    metrics.recordToolCall(entry({ decision: 'deny', code: 'rate_limited', upstreamStatus: null }));
    metrics.refreshes.inc({ tenant: 'acme', service: 'pets', outcome: 'success' });
    metrics.tokensReturned.inc({ tenant: 'acme', toolset: 'support' }, 321);
    const text = metrics.render();
    expect(text).toContain(
      'gatehouse_tool_calls_total{tenant="acme",toolset="support",tool="pets_listPets",decision="allow",status="200"} 2',
    );
    expect(text).toContain('gatehouse_tool_call_errors_total{tenant="acme",toolset="support",code="rate_limited"} 1');
    expect(text).toContain('gatehouse_limiter_denials_total{tenant="acme",toolset="support"} 1');
    expect(text).toContain('gatehouse_tool_call_duration_seconds_bucket{tenant="acme",toolset="support",le="0.025"} 3');
    expect(text).toContain('gatehouse_tool_call_duration_seconds_count{tenant="acme",toolset="support"} 3');
    expect(text).toContain('gatehouse_token_refreshes_total{tenant="acme",service="pets",outcome="success"} 1');
    expect(text).toContain('gatehouse_tokens_returned_total{tenant="acme",toolset="support"} 321');
    expect(text).toMatch(/# TYPE gatehouse_tool_calls_total counter\n/);
  });

  it('keeps cardinality bounded: unknown tool names collapse, label sets beyond the cap overflow', () => {
    const metrics = createGatewayMetrics(createMetricsRegistry({ maxSeriesPerMetric: 10 }));
    for (let i = 0; i < 100; i++)
      metrics.recordToolCall(entry({ tool: `made_up_${i}`, code: 'tool_not_found', decision: 'deny' }));
    for (let i = 0; i < 100; i++) metrics.recordToolCall(entry({ toolset: `t${i}` }));
    const lines = metrics.render().split('\n');
    expect(lines.filter((l) => l.startsWith('gatehouse_tool_calls_total{')).length).toBeLessThanOrEqual(11);
    expect(lines.some((l) => l.includes('tool="_unknown"'))).toBe(true);
    expect(lines.some((l) => l.includes('_overflow'))).toBe(true);
  });

  it('escapes label values', () => {
    const registry = createMetricsRegistry();
    registry.counter('x_total', 'help', ['v']).inc({ v: 'a"b\\c\nd' });
    expect(registry.render()).toContain('x_total{v="a\\"b\\\\c\\nd"} 1');
  });
});
