import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOAuthConnection } from '../support/seed-oauth-connection.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { type FakeRefreshServer, startFakeRefreshServer } from '../support/start-fake-refresh-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/start-webhook-receiver.ts';

/**
 * Telemetry of the refresh engine through the real gateway: a failed refresh and a `needs_reauth` transition are
 * counted in `/metrics` and the transition raises the `needs_reauth` alert at the webhook receiver; tokens of the
 * results returned are counted.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const metricsToken = 'metrics-token-for-refresh-telemetry-0123456789';
const aliceKey = 'gatehouse_sk_refresh_telemetry_alice_0123456789';
const bobKey = 'gatehouse_sk_refresh_telemetry_bob_0123456789ab';

let api: FakeApi;
let as: FakeRefreshServer;
let gateway: TestGateway;
let receiver: WebhookReceiver;

beforeAll(async () => {
  api = await startFakeApi();
  as = await startFakeRefreshServer();
  receiver = await startWebhookReceiver();
  gateway = await startTestGateway({
    metricsToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    alerts: {
      webhookUrl: receiver.url,
      webhookSecret: 'webhook-secret-for-refresh-telemetry-0123456789',
      evaluateEverySeconds: 0.1,
      retries: 0,
    },
    tenants: [
      {
        id: 'acme',
        services: [
          {
            id: 'fake',
            openapi: description,
            baseUrl: api.url,
            auth: {
              type: 'oauth2',
              tokenUrl: as.tokenUrl,
              clientId: as.clientId,
              clientSecret: as.clientSecret,
            },
          },
        ],
        toolsets: [{ id: 'all', tools: ['*'], access: 'read' }],
        clientKeys: [
          { name: 'alice', key: aliceKey, toolsets: ['all'], subject: 'alice' },
          { name: 'bob', key: bobKey, toolsets: ['all'], subject: 'bob' },
        ],
      },
    ],
  });
  const now = Date.now();
  for (const [id, subject, expiresAt] of [
    ['c-alice', 'alice', now + 3_600_000],
    ['c-bob', 'bob', now - 1_000],
  ] as const) {
    await seedOAuthConnection(gateway.adapters, as, {
      tenantId: 'acme',
      id,
      service: 'fake',
      subject,
      accessExpiresAt: expiresAt,
    });
  }
});

afterAll(async () => {
  await gateway?.close();
  await receiver?.close();
  await as?.close();
  await api?.close();
});

async function call(key: string, name: string, args: unknown) {
  const response = await fetch(`${gateway.url}/mcp/acme/all`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
  return response.text();
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (
    await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
  ).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('refresh telemetry', () => {
  it('counts the model tokens of returned results', async () => {
    const before = await metric('gatehouse_tokens_returned_total', 'tenant="acme",toolset="all"');
    const result = await call(aliceKey, 'fake_getItem', { itemId: 'one' });
    expect(result).toContain('/items/one');
    expect(result).not.toContain('"isError":true');
    await until(async () => (await metric('gatehouse_tokens_returned_total', 'tenant="acme",toolset="all"')) > before);
    expect(as.tokenRequests()).toBe(0);
  });

  it('a failed refresh and a needs_reauth transition reach /metrics and raise the needs_reauth alert', async () => {
    const labels = (outcome: string) => `tenant="acme",service="fake",outcome="${outcome}"`;
    // 1. The token endpoint fails: the refresh fails, the connection stays active.
    as.script({ status: 503, json: { error: 'temporarily_unavailable' } });
    expect(await call(bobKey, 'fake_getItem', { itemId: 'two' })).toContain('"isError":true');
    await until(async () => (await metric('gatehouse_token_refreshes_total', labels('failure'))) >= 1);
    expect((await gateway.adapters.store.connections.get('acme', 'c-bob'))?.status).toBe('active');
    expect(receiver.received.filter((w) => w.body.includes('"needs_reauth"'))).toEqual([]);

    // 2. The grant is refused: the connection goes needs_reauth, counted and alerted at once.
    as.script({ status: 400, json: { error: 'invalid_grant' } });
    // The failure above started a short cooldown of the token endpoint; the next refresh waits it out.
    let failed = '';
    await until(async () => {
      failed = await call(bobKey, 'fake_getItem', { itemId: 'three' });
      return !failed.includes('token_endpoint_cooldown');
    });
    expect(failed).toContain('reauth_required');
    await until(async () => (await metric('gatehouse_token_refreshes_total', labels('invalid_grant'))) === 1);
    expect((await gateway.adapters.store.connections.get('acme', 'c-bob'))?.status).toBe('needs_reauth');
    await until(async () => (await metric('gatehouse_alerts_total', 'rule="needs_reauth"')) === 1);
    await until(() => receiver.received.some((w) => w.body.includes('"needs_reauth"')));
    const alert = receiver.received.find((w) => w.body.includes('"needs_reauth"'));
    expect(alert?.headers['x-gatehouse-signature']).toBeTruthy();
    expect(alert?.body).toContain('acme');
    // Nothing of the tokens in the alert: the seeded tokens start with at-/rt-.
    expect(alert?.body).not.toMatch(/\b(at|rt)-f\d+-/);
  });
});
