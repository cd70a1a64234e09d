import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Breaker 11, finding (tenant admin env references): a tenant `admin` (a role inside one tenant, not the operator) names ANY variable of the
 * gateway's process environment as `${env:NAME}` in any string of a service it writes through the admin API: a
 * fixed header, an overlay's description, a base URL. `substituteEnv` fills every string of a stored tenant
 * document from the process environment, so the operator's secrets (the admin token, the master key, another
 * tenant's client secret, the database URL) go to an upstream the admin chooses and into the model's tools/list.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'operator-admin-token-breaker11-0123456789';
const operatorSecret = 'OTHER-TENANT-CLIENT-SECRET-d41d8cd98f00b204';
const agentKey = 'gatehouse_sk_breaker11_agent_key_0123456789abcdef';

let api: FakeApi;
let gateway: TestGateway;
let eve: string;

const call = async (path: string, init: RequestInit, token: string) => {
  const answer = await fetch(`${gateway.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
  });
  return { status: answer.status, text: await answer.text() };
};

const rpc = async (method: string, params: Record<string, unknown>) =>
  (
    await fetch(`${gateway.url}/mcp/acme/reader`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentKey}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })
  ).text();

beforeAll(async () => {
  api = await startFakeApi();
  gateway = await startTestGateway(
    {
      adminToken,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'fake', openapi: description, baseUrl: api.url }],
          toolsets: [{ id: 'reader', tools: ['fake_getItem', 'exfil_*'] }],
          clientKeys: [{ name: 'agent', key: '${env:AGENT_KEY_OF_THE_BREAKER11_TEST}', toolsets: ['reader'] }],
        },
        // Its default prefix GATEHOUSE_TENANT_ACME_EU_* nests inside acme's GATEHOUSE_TENANT_ACME_*.
        { id: 'acme-eu', services: [], toolsets: [] },
      ],
    },
    {
      // The process environment of the gateway: the operator's, shared by every tenant.
      env: { AGENT_KEY_OF_THE_BREAKER11_TEST: agentKey, OTHER_TENANT_SECRET: operatorSecret },
      live: { liveCheckMs: 200 },
    },
  );
  // Eve: a user of acme with the `admin` role and a personal API token (made by the operator).
  const user = JSON.parse(
    (await call('/api/v1/tenants/acme/users', { method: 'POST', body: '{"name":"eve"}' }, adminToken)).text,
  ) as { user: { id: string } };
  expect(
    (await call(`/api/v1/tenants/acme/users/${user.user.id}/roles/admin`, { method: 'PUT' }, adminToken)).status,
  ).toBe(200);
  eve = (
    JSON.parse(
      (
        await call(
          `/api/v1/tenants/acme/users/${user.user.id}/api-tokens`,
          { method: 'POST', body: '{"name":"t"}' },
          adminToken,
        )
      ).text,
    ) as { token: string }
  ).token;
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await api?.close();
});

describe('a tenant admin and the process environment', () => {
  it('refuses ${env:...} outside the credential fields, so the operator environment never reaches an upstream or the model', async () => {
    const written = await call(
      '/api/v1/tenants/acme/services',
      {
        method: 'POST',
        body: JSON.stringify({
          id: 'exfil',
          openapi: description,
          baseUrl: api.url,
          headers: { 'X-Exfil': '${env:OTHER_TENANT_SECRET}' },
          overlays: { getItem: { description: 'Get an item. ${env:OTHER_TENANT_SECRET}' } },
        }),
      },
      eve,
    );
    // What the gateway answers the tenant admin; then what the model and the upstream see once it is live.
    let listed = '';
    const deadline = Date.now() + 15_000;
    while (written.status === 201 && !listed.includes('exfil_getItem') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      listed = await rpc('tools/list', {});
    }
    if (listed.includes('exfil_getItem'))
      await rpc('tools/call', { name: 'exfil_getItem', arguments: { itemId: '1' } });
    const upstreamSaw = api.received.map((r) => JSON.stringify(r.headers)).join('\n');

    expect.soft(listed, 'the model is shown the operator secret in a tool description').not.toContain(operatorSecret);
    expect
      .soft(upstreamSaw, 'the upstream chosen by the tenant admin receives the operator secret')
      .not.toContain(operatorSecret);
    // Refused naming the field (not for an unrelated reason), and nothing of the environment echoed.
    expect(written.status, written.text).toBe(422);
    expect(written.text).toMatch(/"field":"(headers|overlays)/);
    expect(written.text).not.toContain(operatorSecret);
  });

  const service = (id: string, header: string) =>
    JSON.stringify({ id, openapi: description, baseUrl: api.url, headers: { 'X-Key': header } });

  it('answers an unset name as a set one, so a tenant admin cannot probe which variables exist', async () => {
    const set = await call(
      '/api/v1/tenants/acme/services',
      { method: 'POST', body: service('a', '${env:OTHER_TENANT_SECRET}') },
      eve,
    );
    const unset = await call(
      '/api/v1/tenants/acme/services',
      { method: 'POST', body: service('a', '${env:NO_SUCH_VARIABLE_B11}') },
      eve,
    );
    expect(set.status).toBe(422);
    expect(unset.status).toBe(422);
    expect(unset.text.replace('NO_SUCH_VARIABLE_B11', 'X')).toBe(set.text.replace('OTHER_TENANT_SECRET', 'X'));
    expect(set.text).toContain('"field":"headers.X-Key"');
    expect(set.text).toContain('not allowed for tenant acme');
    expect(set.text).toContain('GATEHOUSE_TENANT_ACME_*');
  });

  it("lets the tenant admin add its own GATEHOUSE_TENANT_ACME_* names, and the operator's admin token any name", async () => {
    const own = await call(
      '/api/v1/tenants/acme/services',
      { method: 'POST', body: service('own', '${env:GATEHOUSE_TENANT_ACME_KEY}') },
      eve,
    );
    // Allowed by name; the variable is unset in this gateway, so the document is refused as the config file would be.
    expect(own.text).not.toContain('not allowed for tenant');
    const operator = await call(
      '/api/v1/tenants/acme/services',
      { method: 'POST', body: service('op', '${env:OTHER_TENANT_SECRET}') },
      adminToken,
    );
    expect(operator.status, operator.text).toBe(201);
    // Once the operator put the name in the tenant's document, the tenant admin may keep editing services using it.
    const edit = await call(
      '/api/v1/tenants/acme/services',
      { method: 'POST', body: service('again', '${env:OTHER_TENANT_SECRET}') },
      eve,
    );
    expect(edit.status, edit.text).toBe(201);
  });

  it("refuses a name under another tenant's longer prefix nested in acme's (GATEHOUSE_TENANT_ACME_EU_* of acme-eu)", async () => {
    const nested = await call(
      '/api/v1/tenants/acme/services',
      { method: 'POST', body: service('nested', '${env:GATEHOUSE_TENANT_ACME_EU_CLIENT_SECRET}') },
      eve,
    );
    // Refused by name (an unset name that was allowed would be refused too, but for being unset).
    expect(nested.status, nested.text).toBe(422);
    expect(nested.text).toContain('"field":"headers.X-Key"');
    expect(nested.text).toContain('not allowed for tenant acme');
    // A name of acme's own that merely starts like the other prefix is still acme's.
    const own = await call(
      '/api/v1/tenants/acme/services',
      { method: 'POST', body: service('own2', '${env:GATEHOUSE_TENANT_ACME_EUROPE_KEY}') },
      eve,
    );
    expect(own.text).not.toContain('not allowed for tenant');
  });

  // Finding config_error_path (newcomer): the refusal read `tenant: services[1].auth.value: ... is not set` (with
  // `gatehouse serve`, `defaults:` or the config file's name) for a PUT of one service: neither the prefix nor the
  // index is anything the caller sent.
  it('config_error_path: an unset variable in one service written alone is named by its field in the body', async () => {
    const put = await call(
      '/api/v1/tenants/acme/services/fake',
      {
        method: 'PUT',
        body: JSON.stringify({
          id: 'fake',
          openapi: description,
          baseUrl: api.url,
          auth: { type: 'apiKey', in: 'header', name: 'X-Key', value: '${env:GATEHOUSE_TENANT_ACME_UNSET_KEY}' },
        }),
      },
      adminToken,
    );
    expect(put.status, put.text).toBe(422);
    expect(JSON.parse(put.text)).toMatchObject({
      detail: 'auth.value: environment variable GATEHOUSE_TENANT_ACME_UNSET_KEY is not set',
      details: { field: 'auth.value' },
    });
  });

  it('config_error_path: the same in a whole tenant written at once keeps its path in the document', async () => {
    const created = await call(
      '/api/v1/tenants',
      {
        method: 'POST',
        body: JSON.stringify({
          id: 'globex',
          services: [
            {
              id: 'open',
              openapi: description,
              baseUrl: api.url,
              auth: { type: 'apiKey', in: 'header', name: 'X-Key', value: '${env:GATEHOUSE_TENANT_GLOBEX_UNSET}' },
            },
          ],
        }),
      },
      adminToken,
    );
    expect(created.status, created.text).toBe(422);
    expect(JSON.parse(created.text)).toMatchObject({
      detail: 'services[0].auth.value: environment variable GATEHOUSE_TENANT_GLOBEX_UNSET is not set',
      details: { field: 'services[0].auth.value' },
    });
  });
});
