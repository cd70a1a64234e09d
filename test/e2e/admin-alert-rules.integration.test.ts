import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 14, a tenant's own alert rules in the admin API (`/tenants/{tenant}/alert-rules`), stored in the tenant's
 * configuration document: created, read with an ETag, replaced with If-Match (412 when stale), deleted; bad input
 * answers 422 naming the field and changes nothing (metric, threshold, window, a webhook URL the SSRF guard
 * refuses, a secret written as a value); the secret is a `${env:NAME}` reference and its value is never answered.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-alert-rule-tests-0123456789';
const secretValue = 'alert-rule-secret-value-0123456789';

let gateway: TestGateway;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}/api/v1/tenants/acme${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    },
  });

const rule = (extra: Record<string, unknown> = {}) => ({
  id: 'denials',
  metric: 'policy_denials',
  threshold: 5,
  windowSeconds: 60,
  webhook: { url: 'https://hooks.example.com/gatehouse', secret: '${env:GATEHOUSE_TENANT_ACME_ALERTS}' },
  ...extra,
});

beforeAll(async () => {
  gateway = await startTestGateway(
    {
      adminToken,
      tenants: [{ id: 'acme', services: [{ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9' }] }],
    },
    {
      live: { liveCheckMs: 100 },
      env: { GATEHOUSE_TENANT_ACME_ALERTS: secretValue },
    },
  );
}, 60_000);

afterAll(async () => {
  await gateway?.close();
});

async function problem(response: Response): Promise<{ code: string; field: string | undefined }> {
  const body = (await response.json()) as { code: string; details?: { field?: string } };
  return { code: body.code, field: body.details?.field };
}

describe("a tenant's own alert rules in the admin API (issue 14)", () => {
  it('creates, reads, replaces with If-Match and deletes a rule; the secret stays a reference', async () => {
    const created = await api('/alert-rules', { method: 'POST', body: JSON.stringify(rule()) });
    const createdText = await created.text();
    expect(created.status, createdText).toBe(201);
    expect(created.headers.get('location')).toBe('/api/v1/tenants/acme/alert-rules/denials');
    expect(JSON.parse(createdText)).toEqual(rule());
    expect(createdText).not.toContain(secretValue);
    const etag = created.headers.get('etag') ?? '';

    const read = await api('/alert-rules/denials');
    expect(read.headers.get('etag')).toBe(etag);
    const list = (await (await api('/alert-rules')).json()) as { items: { id: string }[] };
    expect(list.items.map((r) => r.id)).toEqual(['denials']);

    const replaced = await api('/alert-rules/denials', {
      method: 'PUT',
      headers: { 'if-match': etag },
      body: JSON.stringify(rule({ threshold: 7, enabled: false })),
    });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('etag')).not.toBe(etag);
    const stale = await api('/alert-rules/denials', {
      method: 'PUT',
      headers: { 'if-match': etag },
      body: JSON.stringify(rule({ threshold: 9 })),
    });
    expect(stale.status).toBe(412);
    expect(((await (await api('/alert-rules/denials')).json()) as { threshold: number }).threshold).toBe(7);

    expect((await api('/alert-rules/denials', { method: 'DELETE' })).status).toBe(200);
    expect((await api('/alert-rules/denials')).status).toBe(404);
  });

  it.each([
    ['an unknown metric', rule({ metric: 'coffee' }), 'metric'],
    ['a threshold of 0', rule({ threshold: 0 }), 'threshold'],
    ['a window too short', rule({ windowSeconds: 1 }), 'windowSeconds'],
    [
      'a webhook that is not http(s)',
      rule({ webhook: { url: 'ftp://x.example/h', secret: '${env:GATEHOUSE_TENANT_ACME_ALERTS}' } }),
      'webhook.url',
    ],
    [
      'a webhook on the metadata address',
      rule({ webhook: { url: 'http://169.254.169.254/h', secret: '${env:GATEHOUSE_TENANT_ACME_ALERTS}' } }),
      'webhook.url',
    ],
    [
      'a webhook on loopback',
      rule({ webhook: { url: 'http://127.0.0.1:9/h', secret: '${env:GATEHOUSE_TENANT_ACME_ALERTS}' } }),
      'webhook.url',
    ],
    [
      'a secret written as a value',
      rule({ webhook: { url: 'https://hooks.example.com/h', secret: secretValue } }),
      'webhook.secret',
    ],
  ])('refuses %s with 422 naming the field, and changes nothing', async (_name, body, field) => {
    const before = await gateway.adapters.store.tenantConfigs.read('acme');
    const answer = await api('/alert-rules', { method: 'POST', body: JSON.stringify(body) });
    const text = await answer.clone().text();
    expect(answer.status, text).toBe(422);
    expect(await problem(answer)).toEqual({ code: 'resource_invalid', field });
    expect(text).not.toContain(secretValue);
    expect((await gateway.adapters.store.tenantConfigs.read('acme'))?.revision).toBe(before?.revision);
  });

  it('keeps the operator rules read-only at /alerts/rules', async () => {
    const answer = await api('/alerts/rules');
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { rules: { rule: string }[] }).rules.map((r) => r.rule)).toContain(
      'policy_denials',
    );
  });
});
