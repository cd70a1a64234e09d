import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Alert, createAlertEngine, type TenantAlertRule } from './create-alert-engine.ts';
import type { ToolCallAuditEntry } from './create-audit-log.ts';
import { createWebhookSender, signWebhook } from './create-webhook-sender.ts';

const thresholds = {
  evaluateEveryMs: 60_000,
  dedupMs: 600_000,
  volumeFactor: 5,
  volumeMinCalls: 20,
  upstreamErrors: 5,
  denials: 5,
  refreshFailures: 3,
};
const call = (over: Partial<ToolCallAuditEntry> = {}) =>
  ({
    tenant: 'acme',
    requestId: 'r',
    toolset: 's',
    clientKey: 'agent',
    subject: 'alice',
    tool: 'pets_listPets',
    method: 'GET',
    pathTemplate: '/pets',
    decision: 'allow',
    code: null,
    upstreamStatus: 200,
    latencyMs: 1,
    ...over,
  }) as ToolCallAuditEntry;

/** An engine on a clock the test moves, with the tenants' own `rules` (none by default). */
function setup(rules: Record<string, readonly TenantAlertRule[]> = {}) {
  let now = 1_000_000;
  const raised: Alert[] = [];
  const engine = createAlertEngine({
    thresholds,
    clock: { now: () => now, monotonic: () => now },
    onAlert: (a) => raised.push(a),
    tenantRules: (tenant) => rules[tenant] ?? [],
  });
  return { engine, raised, advance: (ms: number) => (now += ms) };
}

describe("createAlertEngine with a tenant's own rules", () => {
  const denials: TenantAlertRule = {
    id: 'denials',
    metric: 'policy_denials',
    threshold: 3,
    windowSeconds: 60,
    enabled: true,
  };

  it('raises a tenant rule at once when its threshold is reached, once per window, only for its tenant', () => {
    const { engine, raised, advance } = setup({ acme: [denials] });
    for (let i = 0; i < 2; i++) engine.observeToolCall(call({ decision: 'deny', code: 'tool_not_allowed' }));
    engine.observeToolCall(call({ tenant: 'other', decision: 'deny', code: 'tool_not_allowed' }));
    expect(raised).toEqual([]);
    engine.observeToolCall(call({ decision: 'deny', code: 'tool_not_allowed' }));
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({
      rule: 'tenant_rule',
      ruleId: 'denials',
      tenant: 'acme',
      about: 'key:agent',
      observed: 3,
      threshold: 3,
    });
    for (let i = 0; i < 10; i++) engine.observeToolCall(call({ decision: 'deny', code: 'tool_not_allowed' }));
    expect(raised).toHaveLength(1);
    // A new window counts from zero again.
    advance(60_000);
    for (let i = 0; i < 3; i++) engine.observeToolCall(call({ decision: 'deny', code: 'tool_not_allowed' }));
    expect(raised).toHaveLength(2);
  });

  it('counts nothing for a disabled rule, and each metric only for its own rules', () => {
    const { engine, raised } = setup({
      acme: [
        { ...denials, enabled: false },
        { id: 'calls', metric: 'tool_calls', threshold: 2, windowSeconds: 10, enabled: true },
        { id: 'refresh', metric: 'refresh_failures', threshold: 1, windowSeconds: 10, enabled: true },
      ],
    });
    for (let i = 0; i < 5; i++) engine.observeToolCall(call({ decision: 'deny', code: 'tool_not_allowed' }));
    expect(raised.map((a) => [a.ruleId, a.about])).toEqual([['calls', 'tool:pets_listPets']]);
    engine.observeRefresh({ tenant: 'acme', service: 'crm', ok: true });
    engine.observeRefresh({ tenant: 'acme', service: 'crm', ok: false });
    expect(raised.map((a) => [a.ruleId, a.about])).toEqual([
      ['calls', 'tool:pets_listPets'],
      ['refresh', 'service:crm'],
    ]);
  });
});

describe('createAlertEngine', () => {
  it('raises call_volume when a (tenant, tool) goes far above its rolling baseline, once per dedup window', () => {
    const { engine, raised, advance } = setup();
    for (let w = 0; w < 5; w++) {
      for (let i = 0; i < 4; i++) engine.observeToolCall(call());
      engine.evaluate();
      advance(60_000);
    }
    expect(raised).toHaveLength(0);
    for (let i = 0; i < 200; i++) engine.observeToolCall(call());
    expect(engine.evaluate().map((a) => [a.rule, a.about])).toEqual([['call_volume', 'tool:pets_listPets']]);
    for (let i = 0; i < 400; i++) engine.observeToolCall(call());
    expect(engine.evaluate()).toHaveLength(0);
    advance(700_000);
    for (let i = 0; i < 2000; i++) engine.observeToolCall(call());
    expect(engine.evaluate()).toHaveLength(1);
  });

  it('raises refresh_recovered at the first good refresh after a refresh_failures alert, and only then', () => {
    const { engine, raised } = setup();
    engine.observeRefresh({ tenant: 'acme', service: 'pets', ok: false });
    engine.observeRefresh({ tenant: 'acme', service: 'pets', ok: true });
    expect(raised).toHaveLength(0); // one failure raised nothing, so nothing recovered
    for (let i = 0; i < 3; i++) engine.observeRefresh({ tenant: 'acme', service: 'pets', ok: false });
    expect(engine.evaluate().map((a) => a.rule)).toEqual(['refresh_failures']);
    engine.observeRefresh({ tenant: 'acme', service: 'other', ok: true });
    engine.observeRefresh({ tenant: 'acme', service: 'pets', ok: true });
    engine.observeRefresh({ tenant: 'acme', service: 'pets', ok: true });
    expect(raised.map((a) => `${a.rule} ${a.about}`)).toEqual([
      'refresh_failures service:pets',
      'refresh_recovered service:pets',
    ]);
  });

  it('raises upstream_errors, policy_denials, refresh_failures over their thresholds and needs_reauth at once', () => {
    const { engine, raised } = setup();
    for (let i = 0; i < 5; i++) engine.observeToolCall(call({ decision: 'error', code: 'upstream_timeout' }));
    for (let i = 0; i < 5; i++) engine.observeToolCall(call({ decision: 'deny', code: 'scope_missing' }));
    for (let i = 0; i < 3; i++) engine.observeRefresh({ tenant: 'acme', service: 'pets', ok: false });
    engine.observeRefresh({ tenant: 'acme', service: 'other', ok: false });
    engine.observeConnectionStatus({ tenant: 'acme', service: 'pets', subject: 'alice', status: 'needs_reauth' });
    engine.observeConnectionStatus({ tenant: 'acme', service: 'pets', subject: 'alice', status: 'needs_reauth' });
    expect(raised.map((a) => a.rule)).toEqual(['needs_reauth']);
    engine.evaluate();
    expect(raised.map((a) => `${a.rule} ${a.about}`).sort()).toEqual([
      'needs_reauth connection:pets/alice',
      'policy_denials key:agent',
      'refresh_failures service:pets',
      'upstream_errors service:pets',
    ]);
  });
});

describe('createWebhookSender', () => {
  const servers: { close(): void }[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('delivers HMAC-signed bodies with a timestamp and retries 5xx with backoff', async () => {
    const received: { body: string; timestamp: string; signature: string }[] = [];
    let failuresLeft = 2;
    const server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (failuresLeft-- > 0) {
        res.writeHead(503).end();
        return;
      }
      received.push({
        body: Buffer.concat(chunks).toString(),
        timestamp: String(req.headers['x-gatehouse-timestamp']),
        signature: String(req.headers['x-gatehouse-signature']),
      });
      res.writeHead(204).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const delivered: string[] = [];
    const sender = createWebhookSender({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      secret: 'webhook-signing-secret',
      backoffMs: 10,
      onDelivered: (id) => delivered.push(id),
    });
    sender.send('a1', { type: 'gatehouse.alert', alert: { id: 'a1' } });
    sender.send('a2', { type: 'gatehouse.alert', alert: { id: 'a2' } });
    await sender.close(5_000);
    expect(delivered).toEqual(['a1', 'a2']);
    expect(received).toHaveLength(2);
    for (const r of received) {
      expect(r.signature).toBe(signWebhook('webhook-signing-secret', Number(r.timestamp), r.body));
      expect(Math.abs(Number(r.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(signWebhook('other-secret', Number(received[0]?.timestamp), received[0]?.body ?? '')).not.toBe(
      received[0]?.signature,
    );
  });

  it('gives up after its retries, does not retry a 4xx, and drops the oldest waiting message when full', async () => {
    const server = createServer((_req, res) => res.writeHead(400).end());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dropped: string[] = [];
    const sender = createWebhookSender({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      secret: 's'.repeat(16),
      maxQueue: 2,
      backoffMs: 5,
      onDropped: (id, reason) => dropped.push(`${id}:${reason}`),
    });
    for (const id of ['m1', 'm2', 'm3', 'm4']) sender.send(id, {});
    await sender.close(5_000);
    expect(dropped).toContain('m2:dropped');
    expect(dropped.filter((d) => d.endsWith(':failed')).length).toBeGreaterThanOrEqual(2);
  });
});
