import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/index.ts';
import { issueClientKey } from '../../src/gateway/index.ts';
import type { AuditRecord } from '../../src/store/index.ts';
import { connectThroughGateway } from '../support/connect-through-gateway.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import {
  type ScriptedAuthorizationServer,
  startScriptedAuthorizationServer,
} from '../support/start-scripted-authorization-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Security events of issue 5 read back through the store: key_created, key_revoked, admin_denied (tenant in the
 * path, or only a metric), and connect after a completed OAuth connection.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-security-events-0123456789';
const metricsToken = 'metrics-token-for-security-events-0123456789';
const clientSecret = 'client-secret-for-security-events-0123456789';

let api: FakeApi;
let as: ScriptedAuthorizationServer;
let gateway: TestGateway;

beforeAll(async () => {
  api = await startFakeApi();
  as = await startScriptedAuthorizationServer();
  gateway = await startTestGateway({
    adminToken,
    metricsToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    // This suite tests the OAuth flow, not who opens a link (test/e2e/connect-link-binding): links open alone.
    connectLinks: { unsafeLinkAloneConnects: true },
    tenants: [
      {
        id: 'acme',
        services: [
          {
            id: 'pets',
            openapi: description,
            baseUrl: api.url,
            auth: { type: 'oauth2', issuer: as.url, clientId: 'gatehouse', clientSecret },
          },
        ],
        toolsets: [{ id: 'reader', tools: ['pets_*'] }],
      },
      {
        id: 'plain',
        services: [{ id: 'open', openapi: description, baseUrl: api.url, auth: { type: 'none' } }],
        toolsets: [{ id: 'reader', tools: ['open_*'] }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await as?.close();
  await api?.close();
});

async function securityRecords(event: string, tenantId = 'acme'): Promise<AuditRecord[]> {
  await gateway.adapters.audit?.flush();
  const records = await gateway.adapters.store.audit.query({ tenantId, kind: 'security', limit: 1000 });
  return records.filter((r) => r.event === event);
}

/** Opens a connect link the way a browser would; returns the state the authorization server would get. */
async function pendingState(subject: string): Promise<string> {
  const created = await fetch(`${gateway.url}/api/v1/tenants/acme/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ service: 'pets', subject }),
  });
  const { authorizeUrl } = (await created.json()) as { authorizeUrl: string };
  const link = new URL(authorizeUrl);
  const opened = await fetch(`${gateway.url}${link.pathname}${link.search}`, { redirect: 'manual' });
  await opened.body?.cancel();
  return new URL(opened.headers.get('location') ?? 'http://x').searchParams.get('state') ?? '';
}

async function metrics(): Promise<string> {
  return (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
}

describe('security events', () => {
  it('AU-01 key_created and key_revoked: one record each, the key only as its keyed fingerprint', async () => {
    const audit = gateway.adapters.audit!;
    const key = await issueClientKey(
      gateway.config,
      gateway.adapters.store,
      systemClock,
      { tenant: 'acme', toolsets: ['reader'], subject: 'alice', name: 'laptop', actor: 'cli' },
      audit,
    );
    const [created, ...more] = await securityRecords('key_created');
    expect(more).toEqual([]);
    const [stored] = (await gateway.adapters.store.clientKeys.list('acme')).filter((k) => k.name === 'laptop');
    expect(created).toMatchObject({
      decision: 'allow',
      subject: 'cli',
      clientKey: 'laptop',
      target: `client_key:${stored?.id}`,
      fingerprint: audit.fingerprintSecret('acme', key),
    });
    expect(created?.fingerprint).toMatch(/^fp_[0-9a-f]{32}$/);
    expect(JSON.stringify(await gateway.adapters.store.audit.query({ tenantId: 'acme', limit: 1000 }))).not.toContain(
      key.slice(16),
    );

    const revoked = await fetch(`${gateway.url}/api/v1/tenants/acme/keys/${stored?.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(revoked.status).toBeLessThan(300);
    const [record, ...others] = await securityRecords('key_revoked');
    expect(others).toEqual([]);
    expect(record).toMatchObject({
      decision: 'allow',
      subject: 'operator',
      clientKey: 'laptop',
      detail: 'admin_api',
      target: `client_key:${stored?.id}`,
    });
    // A failed revocation (no such key) is not a key change.
    await fetch(`${gateway.url}/api/v1/tenants/acme/keys/nope`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(await securityRecords('key_revoked')).toHaveLength(1);
  });

  it('admin_denied is audited in the chain of a configured tenant named in the path', async () => {
    const before = (await securityRecords('admin_denied')).length;
    const missing = await fetch(`${gateway.url}/api/v1/tenants/acme/keys`);
    const wrong = await fetch(`${gateway.url}/api/v1/tenants/acme/audit`, {
      headers: { authorization: 'Bearer not-the-admin-token' },
    });
    expect([missing.status, wrong.status]).toEqual([401, 401]);
    const records = (await securityRecords('admin_denied')).slice(before);
    expect(records.map((r) => [r.decision, r.code, r.detail, r.target])).toEqual([
      ['deny', 'unauthenticated', 'missing_token', 'admin:GET:/api/v1/tenants/:tenant/keys'],
      ['deny', 'unauthenticated', 'wrong_token', 'admin:GET:/api/v1/tenants/:tenant/audit'],
    ]);
    expect(JSON.stringify(records)).not.toContain('not-the-admin-token');
    expect(await metrics()).toContain('gatehouse_admin_denials_total{tenant="acme",audited="true"} 2');
  });

  it('admin_denied without a configured tenant only counts the metric (no chain is created for it)', async () => {
    const before = (await securityRecords('admin_denied')).length;
    for (const path of ['/tenants', '/tenants/made-up-tenant/keys', '/openapi.json']) {
      expect((await fetch(`${gateway.url}/api/v1${path}`)).status).toBe(401);
    }
    expect(await securityRecords('admin_denied')).toHaveLength(before);
    await gateway.adapters.audit?.flush();
    expect(await gateway.adapters.store.audit.query({ tenantId: 'made-up-tenant', limit: 10 })).toEqual([]);
    const text = await metrics();
    expect(text).toContain('gatehouse_admin_denials_total{tenant="_none",audited="false"} 3');
    expect(text).not.toContain('made-up-tenant');
  });

  it('connect: a completed OAuth connection writes one allow record naming the connection', async () => {
    const done = await connectThroughGateway(gateway.url, adminToken, {
      tenant: 'acme',
      service: 'pets',
      subject: 'bob',
    });
    expect(done.status).toBe(200);
    const [connection] = (await gateway.adapters.store.connections.list('acme')).filter((c) => c.subject === 'bob');
    const records = (await securityRecords('connect')).filter((r) => r.subject === 'bob');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      decision: 'allow',
      detail: 'connected',
      target: `connection:${connection?.id}`,
    });
  });

  it('17.6 (review finding 6) 300 anonymous callbacks with made-up states write no record, in an OAuth tenant or not', async () => {
    const before = (await securityRecords('oauth_state_rejected')).length;
    const random = () => Math.random().toString(36).slice(2).padEnd(12, '0');
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        fetch(`${gateway.url}/oauth/callback?code=c&state=${i % 2 === 0 ? 'acme' : 'plain'}.${random()}${random()}`),
      ),
    );
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([400]));
    await Promise.all(answers.map((a) => a.body?.cancel()));
    expect(await securityRecords('oauth_state_rejected')).toHaveLength(before);
    expect(await securityRecords('oauth_state_rejected', 'plain')).toHaveLength(0);
  });

  it('17.6 (review finding 6) rejections of a real pending state are capped per tenant like admin denials', async () => {
    const before = (await securityRecords('oauth_state_rejected')).length;
    const state = await pendingState('mallory');
    const startedMinute = Math.floor(Date.now() / 60_000);
    for (let i = 0; i < 100; i++) {
      const answer = await fetch(`${gateway.url}/oauth/callback?code=c&state=${encodeURIComponent(state)}`);
      expect(answer.status).toBe(400);
      await answer.body?.cancel();
    }
    const written = (await securityRecords('oauth_state_rejected')).length - before;
    expect(written).toBeGreaterThan(0);
    // 60 per tenant per calendar minute: a loop that crosses a minute boundary may write up to 60 in each.
    const minutes = Math.floor(Date.now() / 60_000) - startedMinute + 1;
    expect(written).toBeLessThanOrEqual(60 * minutes);
    expect(await metrics()).toMatch(/gatehouse_oauth_state_rejections_total\{tenant="acme",audited="false"\} \d+/);
  });
});
