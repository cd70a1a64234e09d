import { describe, expect, it } from 'vitest';
import { createAdminDenialRecorder } from './create-admin-denial-recorder.ts';
import type { SecurityEventEntry } from './create-audit-log.ts';
import { createGatewayMetrics } from './create-gateway-metrics.ts';

function setup() {
  const records: SecurityEventEntry[] = [];
  const metrics = createGatewayMetrics();
  let now = 1_000_000 * 60_000;
  const record = createAdminDenialRecorder({
    tenants: ['acme'],
    audit: {
      recordSecurityEvent: async (entry) => {
        records.push(entry);
      },
    },
    metrics,
    maxPerMinute: 3,
    now: () => now,
  });
  const deny = (tenant: string | undefined) =>
    record({ tenant, method: 'GET', route: '/api/v1/tenants/:tenant/keys', reason: 'wrong_token', requestId: 'r1' });
  return { records, metrics, deny, advance: (ms: number) => (now += ms) };
}

describe('createAdminDenialRecorder', () => {
  it('records a configured tenant in its chain, and only counts an unknown or absent one', () => {
    const { records, metrics, deny } = setup();
    deny('acme');
    deny('not-a-tenant');
    deny(undefined);
    expect(records).toEqual([
      {
        tenant: 'acme',
        event: 'admin_denied',
        decision: 'deny',
        requestId: 'r1',
        code: 'unauthenticated',
        detail: 'wrong_token',
        target: 'admin:GET:/api/v1/tenants/:tenant/keys',
      },
    ]);
    const text = metrics.render();
    expect(text).toContain('gatehouse_admin_denials_total{tenant="acme",audited="true"} 1');
    expect(text).toContain('gatehouse_admin_denials_total{tenant="_none",audited="false"} 2');
    expect(text).not.toContain('not-a-tenant');
  });

  it('caps the records of a tenant per minute; the rest are counted', () => {
    const { records, metrics, deny, advance } = setup();
    for (let i = 0; i < 5; i++) deny('acme');
    expect(records).toHaveLength(3);
    expect(metrics.render()).toContain('gatehouse_admin_denials_total{tenant="acme",audited="false"} 2');
    advance(60_000);
    deny('acme');
    expect(records).toHaveLength(4);
  });
});
