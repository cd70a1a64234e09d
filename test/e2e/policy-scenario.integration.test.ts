import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, type Config, parseConfig } from '../../src/core/index.ts';
import { type ConnectLinkRequest, createGateway, type Gateway } from '../../src/gateway/index.ts';
import {
  createAdminRoutes,
  createApprovalAdminRoutes,
  createApprovalPageRoutes,
  createHttpApp,
  type RunningHttpServer,
  startHttpServer,
} from '../../src/http/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/start-webhook-receiver.ts';

const description = fileURLToPath(new URL('../fixtures/scoped-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_policy_agent_key_0123456789abcdef';
const otherKey = 'gatehouse_sk_policy_other_key_0123456789abcdef';
const adminToken = 'admin-token-policy-scenario-0123456789';
const webhookSecret = 'webhook-secret-policy-scenario';

let api: FakeApi;
let hook: WebhookReceiver;
let server: RunningHttpServer;
let gateway: Gateway;
let config: Config;
let adapters: Awaited<ReturnType<typeof openAdapters>>;
let dataDir: string;
const minted: ConnectLinkRequest[] = [];
let nowMs = Date.UTC(2026, 0, 1);
const clock: Clock = { now: () => nowMs, monotonic: () => nowMs };

beforeAll(async () => {
  api = await startFakeApi();
  hook = await startWebhookReceiver();
  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-policy-'));
  config = parseConfig(
    {
      listen: '127.0.0.1:0',
      dataDir,
      logLevel: 'silent',
      adminToken,
      masterKey: randomBytes(32).toString('base64'),
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      approvals: { ttlSeconds: 900, webhookUrl: hook.url, webhookSecret },
      tenants: [
        {
          id: 'acme',
          services: [
            {
              id: 'crm',
              openapi: description,
              baseUrl: `${api.url}/crm`,
              auth: {
                type: 'oauth2',
                clientId: 'gatehouse',
                authorizationUrl: 'https://auth.example.com/authorize',
                tokenUrl: 'https://auth.example.com/token',
              },
              scopeImplies: { admin: ['items:read', 'items:write'] },
            },
            {
              id: 'ops',
              openapi: description,
              baseUrl: `${api.url}/ops`,
              auth: { type: 'bearer', token: 'ops-token-0123456789' },
            },
          ],
          toolsets: [
            {
              id: 'agent',
              tools: ['crm_*', 'ops_*'],
              exclude: ['ops_exportAll'],
              access: 'write',
              approval: 'destructive',
              rateLimit: { perMinute: 1, burst: 4 },
              policy: {
                scopes: ['items:read', 'items:write', 'admin'],
                constraints: { ops_createItem: { 'body.amount': { maximum: 100 }, 'body.currency': { const: 'EUR' } } },
                safety: { '*_searchItems': 'safe' },
              },
              // These scenarios check what tools/list shows, so the list stays direct whatever its size.
              discovery: { mode: 'never' },
            },
          ],
          clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['agent'], subject: 'alice' }],
        },
        {
          id: 'other',
          services: [{ id: 'ops', openapi: description, baseUrl: `${api.url}/other`, auth: { type: 'none' } }],
          toolsets: [{ id: 'agent', tools: ['*'], access: 'write', approval: 'none' }],
          clientKeys: [{ name: 'other', key: otherKey, toolsets: ['agent'] }],
        },
      ],
    },
    { env: {}, baseDir: process.cwd() },
  );
  adapters = await openAdapters(config, { stderr: { write: () => true } as unknown as NodeJS.WritableStream });
  // The connection of alice to crm was granted only items:read (a narrower grant than asked, OA-13).
  await adapters.store.connections?.upsert({
    tenantId: 'acme',
    id: 'conn-alice-crm',
    service: 'crm',
    subject: 'alice',
    status: 'active',
    scopes: ['items:read'],
    accessToken: null,
    refreshToken: null,
    accessExpiresAt: null,
    createdAt: nowMs,
  });
  gateway = await createGateway({
    config,
    ...adapters,
    clock,
    mintConnectLink: async (request) => {
      minted.push(request);
      return `${config.publicUrl}/connect/step-up-${minted.length}?sig=test`;
    },
  });
  const app = createHttpApp({
    gateway,
    publicUrl: config.publicUrl,
    listenHost: '127.0.0.1',
    routes: [
      ...createAdminRoutes({ adminToken, routes: createApprovalAdminRoutes(gateway) }),
      ...createApprovalPageRoutes(gateway, {
        publicUrl: config.publicUrl,
        adminToken,
        approverTokenOf: (tenant) => config.tenants.find((t) => t.id === tenant)?.approverToken,
      }),
    ],
  });
  server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server?.close();
  await adapters?.close();
  await api?.close();
  await hook?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text: string }[] };

async function connect(key = clientKey, headers: Record<string, string> = {}, tenant = 'acme') {
  const client = new Client({ name: 'policy-e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp/${tenant}/agent`), {
      requestInit: { headers: { Authorization: `Bearer ${key}`, ...headers } },
    }),
  );
  return client;
}

function errorOf(result: unknown): { code: string; details: Record<string, unknown> } {
  const r = result as ToolResult;
  expect(r.isError).toBe(true);
  return (r.structuredContent as { error: { code: string; details: Record<string, unknown> } }).error;
}

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

describe('policy end to end (real gateway, MCP client, fake API)', () => {
  it('MC-11 a prompt-injected sequence is refused at every step with zero upstream requests; the approved destructive call then runs exactly once', async () => {
    const client = await connect();
    const before = api.received.length;

    // 1. A tool outside the toolset.
    expect(errorOf(await client.callTool({ name: 'ops_exportAll', arguments: {} })).code).toBe('tool_not_allowed');

    // 2a. A tool needing a scope the toolset does not allow (SC-01).
    const toolsetDenial = errorOf(await client.callTool({ name: 'ops_sendMessage', arguments: { body: { to: 'x' } } }));
    expect(toolsetDenial.code).toBe('scope_missing');
    expect(toolsetDenial.details['missingScopes']).toEqual(['messages:send']);

    // 2b. A tool the connection's grant does not cover: one step-up link for exactly the missing scope (SC-02).
    const grantDenial = errorOf(await client.callTool({ name: 'crm_createItem', arguments: { body: { name: 'x' } } }));
    expect(grantDenial.code).toBe('scope_missing');
    expect(grantDenial.details['missingScopes']).toEqual(['items:write']);
    expect(grantDenial.details['stepUpUrl']).toMatch(/\/connect\/step-up-1\?sig=/);
    expect(minted).toEqual([
      { tenant: 'acme', service: 'crm', subject: 'alice', scopes: ['items:write'], reason: 'step_up' },
    ]);

    // 3. A destructive call without approval: not executed, approval link instead.
    const pending = errorOf(await client.callTool({ name: 'ops_deleteItem', arguments: { itemId: '42' } }));
    expect(pending.code).toBe('approval_required');
    const approvalUrl = String(pending.details['approvalUrl']);
    expect(approvalUrl).toMatch(/\/approvals\/[A-Za-z0-9_-]+\?tenant=acme&sig=[A-Za-z0-9_-]{40,}$/);

    // The model retrying the same call gets the same request, not a new one.
    const again = errorOf(await client.callTool({ name: 'ops_deleteItem', arguments: { itemId: '42' } }));
    expect(again.details['approvalId']).toBe(pending.details['approvalId']);

    // 4. Over the rate limit (burst 4: the two calls above and two more reached the limiter).
    errorOf(await client.callTool({ name: 'ops_deleteItem', arguments: { itemId: '43' } }));
    errorOf(await client.callTool({ name: 'ops_deleteItem', arguments: { itemId: '44' } }));
    const limited = errorOf(await client.callTool({ name: 'ops_listItems', arguments: {} }));
    expect(limited.code).toBe('rate_limited');
    expect(limited.details['retryAfterSeconds']).toBeGreaterThanOrEqual(1);

    expect(api.received.length).toBe(before);

    // The model cannot approve: no MCP tool does, and the admin API refuses the client key.
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names.some((n) => /approv/i.test(n))).toBe(false);
    const id = String(pending.details['approvalId']);
    const forged = await fetch(`${server.url}/api/v1/tenants/acme/approvals/${id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clientKey}` },
    });
    expect(forged.status).toBe(401);

    // A person approves through the admin API.
    const listed = await admin('GET', '/tenants/acme/approvals?status=pending');
    const row = (
      listed.body['approvals'] as { id: string; tool: string; arguments: unknown; clientKey: string }[]
    ).find((a) => a.id === id);
    expect(row).toMatchObject({ tool: 'ops_deleteItem', arguments: { itemId: '42' }, clientKey: 'agent' });
    const approved = await admin('POST', `/tenants/acme/approvals/${id}/approve`, { by: 'bob' });
    expect(approved.status).toBe(200);
    expect(approved.body['approval']).toMatchObject({ status: 'approved', decidedBy: 'admin:bob' });
    expect((await admin('POST', `/tenants/acme/approvals/${id}/approve`, {})).status).toBe(400);

    nowMs += 5 * 60_000; // the limiter refills; the approval (15 minutes) is still valid
    // A different argument set is not released by it (SC-05).
    expect(errorOf(await client.callTool({ name: 'ops_deleteItem', arguments: { itemId: '43' } })).code).toBe(
      'approval_required',
    );
    const ran = (await client.callTool({ name: 'ops_deleteItem', arguments: { itemId: '42' } })) as ToolResult;
    expect(ran.isError).toBeFalsy();
    const deletes = api.received.slice(before).filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path)).toEqual(['/ops/items/42']);

    // Single use: the same call again needs a new approval.
    nowMs += 2 * 60_000;
    const second = errorOf(await client.callTool({ name: 'ops_deleteItem', arguments: { itemId: '42' } }));
    expect(second.code).toBe('approval_required');
    expect(second.details['approvalId']).not.toBe(id);
    expect(api.received.slice(before).filter((r) => r.method === 'DELETE')).toHaveLength(1);

    // The decision is audited with who (the request row) and when (the record).
    const records = await adapters.store.audit.query({ tenantId: 'acme', limit: 1000 });
    expect(
      records.some((r) => r.event === 'approval' && r.detail === 'approved_via_admin_api' && r.decision === 'allow'),
    ).toBe(true);
    // Approvers were notified with an HMAC-signed body, in the same format as alert webhooks.
    const delivered = hook.received.find((h) => h.body.includes(id));
    expect(delivered).toBeDefined();
    const timestamp = String(delivered?.headers['x-gatehouse-timestamp']);
    const expected = createHmac('sha256', webhookSecret).update(`${timestamp}.${delivered?.body}`).digest('hex');
    expect(delivered?.headers['x-gatehouse-signature']).toBe(`v1=${expected}`);
    expect(JSON.parse(delivered?.body ?? '{}')).toMatchObject({ type: 'approval.requested', approval: { id } });
    await client.close();
  });

  it('SC-02 tools/list hides tools the grant cannot cover and shows those a broader grant implies', async () => {
    const client = await connect();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('crm_listItems');
    expect(names).not.toContain('crm_createItem');
    expect(names).not.toContain('crm_deleteItem');
    expect(names).toContain('ops_createItem');
    expect(names).not.toContain('ops_sendMessage'); // SC-01: outside the toolset's scopes
    expect(names).not.toContain('ops_exportAll');
    await adapters.store.connections?.upsert({
      tenantId: 'acme',
      id: 'conn-alice-crm',
      service: 'crm',
      subject: 'alice',
      status: 'active',
      scopes: ['admin'],
      accessToken: null,
      refreshToken: null,
      accessExpiresAt: null,
      createdAt: nowMs,
    });
    const broader = (await client.listTools()).tools.map((t) => t.name);
    expect(broader).toContain('crm_createItem'); // admin implies items:write (scopeImplies)
    expect(broader).toContain('crm_exportAll');
    await client.close();
  });

  it('SC-05 the approval page shows the call HTML-escaped and decides only with its CSRF token, link token and an approver token', async () => {
    nowMs += 60 * 60_000;
    const client = await connect();
    const args = { itemId: '<img src=x onerror=alert(1)>' };
    const pending = errorOf(await client.callTool({ name: 'ops_deleteItem', arguments: args }));
    const link = `${server.url}${pathOf(String(pending.details['approvalUrl']))}`;
    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    expect(html).toContain('ops_deleteItem');
    const cookie = String(page.headers.get('set-cookie')).split(';')[0] as string;
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] as string;
    const sig = new URL(link).searchParams.get('sig') as string;
    const id = String(pending.details['approvalId']);
    const post = (form: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/approvals/${id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(form).toString(),
      });
    expect((await fetch(link.replace(/sig=[^&]+/, 'sig=AAAA'))).status).toBe(404);
    expect((await post({ tenant: 'acme', sig, csrf, decision: 'approve' })).status).toBe(403); // no cookie
    expect((await post({ tenant: 'acme', sig: 'forged', csrf, decision: 'approve' }, { cookie })).status).toBe(404);
    expect(
      (await post({ tenant: 'acme', sig, csrf, decision: 'approve' }, { cookie, origin: 'https://evil.example' }))
        .status,
    ).toBe(403);
    expect((await post({ tenant: 'other', sig, csrf, decision: 'approve' }, { cookie })).status).toBe(404);
    // Link, cookie and CSRF token are all the agent can have: not enough (review finding 7).
    expect((await post({ tenant: 'acme', sig, csrf, decision: 'approve' }, { cookie })).status).toBe(401);
    const ok = await post({ tenant: 'acme', sig, csrf, decision: 'approve', approverToken: adminToken }, { cookie });
    expect(ok.status).toBe(200);
    const before = api.received.length;
    const ran = (await client.callTool({ name: 'ops_deleteItem', arguments: args })) as ToolResult;
    expect(ran.isError).toBeFalsy();
    expect(api.received.length).toBe(before + 1);
    await client.close();
  });

  it('SC-05 a denied call answers approval_denied and never runs', async () => {
    nowMs += 60 * 60_000;
    const client = await connect();
    const pending = errorOf(await client.callTool({ name: 'ops_deleteItem', arguments: { itemId: '77' } }));
    const denied = await admin('POST', `/tenants/acme/approvals/${String(pending.details['approvalId'])}/deny`, {});
    expect(denied.body['approval']).toMatchObject({ status: 'denied', decidedBy: 'admin:admin' });
    const before = api.received.length;
    expect(errorOf(await client.callTool({ name: 'ops_deleteItem', arguments: { itemId: '77' } })).code).toBe(
      'approval_denied',
    );
    expect(api.received.length).toBe(before);
    await client.close();
  });

  it('constraints and safety overrides: pinned and maximum values are enforced; a POST search overridden to safe runs without approval', async () => {
    nowMs += 60 * 60_000;
    const client = await connect();
    const before = api.received.length;
    const over = errorOf(
      await client.callTool({
        name: 'ops_createItem',
        arguments: { body: { name: 'a', amount: 101, currency: 'EUR' } },
      }),
    );
    expect(over.code).toBe('invalid_arguments');
    expect(
      errorOf(await client.callTool({ name: 'ops_createItem', arguments: { body: { name: 'a', amount: 5 } } })).code,
    ).toBe('invalid_arguments');
    expect(api.received.length).toBe(before);
    const created = (await client.callTool({
      name: 'ops_createItem',
      arguments: { body: { name: 'a', amount: 100, currency: 'EUR' } },
    })) as ToolResult;
    expect(created.isError).toBeFalsy();
    const search = (await client.listTools()).tools.find((t) => t.name === 'ops_searchItems');
    expect(search?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    await client.close();
  });

  it('MT-02 a tenant id in a header or an argument never overrides the tenant of the verified key', async () => {
    nowMs += 60 * 60_000;
    const tenantHeaders = { 'x-tenant-id': 'other', 'x-gatehouse-tenant': 'other', 'x-tenant': 'other' };
    const client = await connect(clientKey, tenantHeaders);
    const otherRecordsBefore = (await adapters.store.audit.query({ tenantId: 'other', limit: 1_000 })).length;
    // A call that runs (issue 17: the former version of this test was refused as invalid_arguments, so its
    // assertions on upstream requests ran on an empty list): it must run for acme, with acme's credential.
    const before = api.received.length;
    const listed = (await client.callTool({ name: 'ops_listItems', arguments: { limit: 5 } })) as ToolResult;
    expect(listed.isError).toBeFalsy();
    const searched = (await client.callTool({
      name: 'ops_searchItems',
      arguments: { body: { query: 'x', tenant: 'other', tenantId: 'other' } },
    })) as ToolResult;
    expect(searched.isError).toBeFalsy();
    const sent = api.received.slice(before);
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /ops/items', 'POST /ops/items/search']);
    for (const request of sent) {
      expect(request.headers['authorization']).toBe('Bearer ops-token-0123456789');
      for (const name of Object.keys(tenantHeaders)) expect(request.headers[name]).toBeUndefined();
    }
    // An argument the tool does not declare is refused, and reaches no upstream.
    const refused = errorOf(await client.callTool({ name: 'ops_listItems', arguments: { tenant: 'other' } }));
    expect(refused.code).toBe('invalid_arguments');
    expect(api.received.length).toBe(before + 2);
    await adapters.audit?.flush();
    const acme = await adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', order: 'desc', limit: 3 });
    expect(acme.map((r) => [r.tool, r.decision]).reverse()).toEqual([
      ['ops_listItems', 'allow'],
      ['ops_searchItems', 'allow'],
      ['ops_listItems', 'deny'],
    ]);
    expect(await adapters.store.audit.query({ tenantId: 'other', limit: 1_000 })).toHaveLength(otherRecordsBefore);
    await client.close();
    // The acme key on tenant other's endpoint: the same 404 as a nonexistent endpoint.
    await expect(connect(clientKey, {}, 'other')).rejects.toThrow();
  });
});
