import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 14, alerts in the admin API: the rules in force and the alerts a tenant raised with what became of each
 * (stored, so any process can show them). A real denial raises `policy_denials`; the signed webhook on 127.0.0.1
 * receives it, and the delivery reads `delivered`.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-alert-tests-0123456789';
const clientKey = `gatehouse_sk_${randomBytes(24).toString('base64url')}`;

let gateway: TestGateway;
let hook: FakeApi;

const api = (path: string) =>
  fetch(`${gateway.url}/api/v1/tenants${path}`, { headers: { authorization: `Bearer ${adminToken}` } });

beforeAll(async () => {
  hook = await startFakeApi();
  hook.handle((_request, res) => void res.writeHead(204).end());
  gateway = await startTestGateway(
    {
      adminToken,
      alerts: {
        webhookUrl: `${hook.url}/hooks/secret-path?token=abc`,
        webhookSecret: 'alert-webhook-secret-0123',
        evaluateEverySeconds: 0.2,
        denials: 1,
      },
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9' }],
          toolsets: [{ id: 'reader', tools: ['fake_*'], access: 'read', discovery: { mode: 'never' } }],
          clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['reader'] }],
        },
      ],
    },
    {},
  );
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await hook?.close();
});

describe('alerts in the admin API (issue 14)', () => {
  it('shows the rules in force and the webhook by its origin only', async () => {
    const response = await api('/acme/alerts/rules');
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      rules: { rule: string; threshold: number }[];
      windowSeconds: number;
      webhook: { configured: boolean; origin: string };
    };
    expect(body.rules.find((r) => r.rule === 'policy_denials')?.threshold).toBe(1);
    expect(body.windowSeconds).toBe(0.2);
    expect(body.webhook).toEqual({ configured: true, origin: hook.url });
    expect(JSON.stringify(body)).not.toContain('secret-path');
    expect((await api('/nope/alerts/rules')).status).toBe(404);
  });

  it('lists a raised alert with its delivery outcome; a bad limit is a 400 naming it', async () => {
    const denied = await fetch(`${gateway.url}/mcp/acme/reader`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'fake_deleteItem', arguments: { itemId: 'x' } },
      }),
    });
    expect(denied.status).toBe(200);
    let items: { rule: string; outcome: string; about: string; raisedAt: string }[] = [];
    const deadline = Date.now() + 8_000;
    while (Date.now() < deadline) {
      items = ((await (await api('/acme/alerts/deliveries')).json()) as { items: typeof items }).items;
      if (items.some((i) => i.outcome === 'delivered')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(items[0]).toMatchObject({ rule: 'policy_denials', about: 'key:agent', outcome: 'delivered' });
    expect(Date.parse(items[0]?.raisedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(hook.received.some((r) => r.body.includes('policy_denials'))).toBe(true);

    const bad = await api('/acme/alerts/deliveries?limit=0');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { details: { field: string } }).details.field).toBe('limit');
  });
});
