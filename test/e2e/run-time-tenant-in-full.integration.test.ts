/**
 * Issue 14, a tenant created or changed at run time is served in full at once, as a tenant of the config file is
 * after a restart. These parts took effect only at the next start (they read the startup `config.tenants`): the
 * `clientKeys` of its document (and their revocation when removed), its federated `mcp:` services, its
 * `approverToken` on the approval page, and its refresh settings (the proactive sweep, `refreshMarginSeconds`).
 * One gateway on SQLite; two on PostgreSQL (and Redis when configured), each with its own pools and LISTEN
 * connection as separate processes have, the tenant created through one and used through the other.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantDocument } from '../../src/core/index.ts';
import { agentApproves } from '../support/agent-approves.ts';
import { callAdminApi } from '../support/call-admin-api.ts';
import { freePort } from '../support/free-port.ts';
import { seedOAuthConnection } from '../support/seed-oauth-connection.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startFakeRefreshServer } from '../support/start-fake-refresh-server.ts';
import { type LegacyMcpUpstream, startLegacyMcpUpstream } from '../support/start-mcp-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { type TestDatabase, testDatabases } from '../support/test-databases.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const postgres = testDatabases('/tmp').find((kind) => kind.name === 'postgres');
const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];
const adminToken = 'admin-token-for-run-time-tenants-0123456789';
const upstreamToken = 'upstream-mcp-bearer-run-time-0123456789';
const newKey = () => `gatehouse_sk_${randomBytes(24).toString('base64url')}`;
const env = {
  AGENT_KEY: newKey(),
  SPARE_KEY: newKey(),
  APPROVER_TOKEN: `approver-${randomBytes(16).toString('hex')}`,
  UPSTREAM_TOKEN: upstreamToken,
  AS_SECRET: 'run-time-tenant-client-secret-0123456789',
};

let api: FakeApi;
let mcp: LegacyMcpUpstream;

/** The file's tenant: nothing federated, no approver token, no OAuth service, no configured keys. */
const acme = () => ({
  id: 'acme',
  services: [{ id: 'fake', openapi: description, baseUrl: api.url }],
  toolsets: [{ id: 'reader', tools: ['fake_*'] }],
});

/** A tenant using every part that used to wait for a restart but OAuth (its own tenant below). */
const globex = (keys = ['agent', 'spare']): TenantDocument =>
  ({
    id: 'globex',
    approverToken: '${env:APPROVER_TOKEN}',
    services: [
      { id: 'fake', openapi: description, baseUrl: api.url },
      { id: 'linear', mcp: mcp.url, auth: { type: 'bearer', token: '${env:UPSTREAM_TOKEN}' } },
    ],
    toolsets: [
      {
        id: 'reader',
        tools: ['fake_*', 'linear_*'],
        access: 'write',
        approval: 'destructive',
        discovery: { mode: 'never' },
      },
    ],
    clientKeys: [
      { name: 'agent', key: '${env:AGENT_KEY}', toolsets: ['reader'], subject: 'alice' },
      { name: 'spare', key: '${env:SPARE_KEY}', toolsets: ['reader'] },
    ].filter((key) => keys.includes(key.name)),
  }) as TenantDocument;

const admin = (url: string, method: string, path: string, body?: unknown) =>
  callAdminApi(url, adminToken, method, path, body);

interface RpcAnswer {
  readonly status: number;
  readonly result?: {
    tools?: { name: string }[];
    isError?: boolean;
    content?: { text?: string }[];
    structuredContent?: { error?: { code?: string; details?: Record<string, unknown> } };
  };
}

let rpcId = 0;
async function rpc(url: string, tenant: string, key: string, method: string, params: object = {}): Promise<RpcAnswer> {
  const response = await fetch(`${url}/mcp/${tenant}/reader`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  const text = await response.text();
  if (response.status !== 200) return { status: response.status };
  return { status: 200, ...(JSON.parse(text) as { result?: RpcAnswer['result'] }) };
}
const call = (url: string, tenant: string, key: string, name: string, args: object = {}) =>
  rpc(url, tenant, key, 'tools/call', { name, arguments: args });

/** Polls until `check` holds (every 20 ms), failing after `limitMs`; answers how long it took. */
async function within(limitMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - started;
}

const gatewayConfig = (extra: Record<string, unknown> = {}) => ({
  adminToken,
  unsafeAllowPrivateUpstreams: ['127.0.0.1'],
  oauthRefresh: { backgroundIntervalSeconds: 0.06 },
  tenants: [acme()],
  ...extra,
});

/** An `authorization_code` service whose margin (120 s) is wider than the default (60 s). */
const initech = (as: { tokenUrl: string; clientId: string; url: string }) =>
  ({
    id: 'initech',
    services: [
      {
        id: 'fake',
        openapi: description,
        baseUrl: as.url,
        auth: {
          type: 'oauth2',
          grant: 'authorization_code',
          tokenUrl: as.tokenUrl,
          clientId: as.clientId,
          clientSecret: '${env:AS_SECRET}',
          refreshMarginSeconds: 120,
        },
      },
    ],
    toolsets: [{ id: 'reader', tools: ['fake_*'] }],
  }) as TenantDocument;

beforeAll(async () => {
  api = await startFakeApi();
  api.handle((_request, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ id: 'i1', name: 'first' }]));
  });
  mcp = await startLegacyMcpUpstream(
    [
      {
        name: 'echo',
        description: 'Echoes text',
        inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        annotations: { readOnlyHint: true },
        call: (args) => ({ content: [{ type: 'text', text: `echo: ${String(args['text'])}` }] }),
      },
    ],
    upstreamToken,
  );
});

afterAll(async () => {
  await mcp?.close();
  await api?.close();
});

describe('a tenant created at run time is served in full at once, one gateway (SQLite)', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway(gatewayConfig(), { live: {}, port: await freePort(), env });
    const created = await admin(gateway.url, 'POST', '/tenants', globex());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
  });

  it("the clientKeys of a created tenant's document authenticate at once (they waited for the next start)", async () => {
    const answer = await call(gateway.url, 'globex', env.AGENT_KEY, 'fake_listItems');
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.result)).toContain('first');
    expect((await call(gateway.url, 'globex', env.SPARE_KEY, 'fake_listItems')).status).toBe(200);
  });

  it("a key removed from a tenant's document is revoked at once, as the start revokes it (it stayed valid)", async () => {
    const stored = await gateway.gateway.tenantConfigs?.read('globex');
    // What `gatehouse apply` writes while the gateway runs.
    await gateway.gateway.tenantConfigs?.write('globex', globex(['agent']), {
      expectedRevision: stored?.revision ?? null,
      actor: 'apply',
    });
    await within(
      5_000,
      'the spare key refused',
      async () => (await call(gateway.url, 'globex', env.SPARE_KEY, 'fake_listItems')).status === 401,
    );
    const keys = (await admin(gateway.url, 'GET', '/tenants/globex/keys')).body['keys'] as {
      name: string;
      revokedAt: string | null;
    }[];
    expect(keys.find((k) => k.name === 'spare')?.revokedAt).not.toBeNull();
    expect(keys.find((k) => k.name === 'agent')?.revokedAt).toBeNull();
    expect((await call(gateway.url, 'globex', env.AGENT_KEY, 'fake_listItems')).status).toBe(200);
  });

  it('a tenant whose client key another tenant holds is refused naming the field (it was stored, then not served)', async () => {
    const copycat = {
      id: 'copycat',
      toolsets: [{ id: 'reader' }],
      clientKeys: [{ name: 'mine', key: '${env:AGENT_KEY}', toolsets: ['reader'] }],
    };
    const refused = await admin(gateway.url, 'POST', '/tenants', copycat);
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body['details']).toEqual({ field: 'clientKeys[0].key' });
    expect(String(refused.body['detail'])).toContain("the same key as the stored key 'agent'");
    expect(JSON.stringify(refused.body)).not.toContain(env.AGENT_KEY);
    expect(await gateway.gateway.tenantConfigs?.read('copycat')).toBeUndefined();
  });

  it("a created tenant's federated mcp: service lists and calls its tools at once (listed at the next start)", async () => {
    const listed = await rpc(gateway.url, 'globex', env.AGENT_KEY, 'tools/list');
    expect(listed.result?.tools?.map((t) => t.name)).toContain('linear_echo');
    const answer = await call(gateway.url, 'globex', env.AGENT_KEY, 'linear_echo', { text: 'hi' });
    expect(answer.result?.isError, JSON.stringify(answer.result)).toBeFalsy();
    expect(answer.result?.content?.[0]?.text).toBe('echo: hi');
    expect(mcp.calls.at(-1)?.authorization).toBe(`Bearer ${upstreamToken}`);
    expect(gateway.gateway.federation?.status()).toContainEqual(
      expect.objectContaining({ tenant: 'globex', service: 'linear', state: 'listed', tools: 1 }),
    );
  });

  it("a created tenant's approverToken signs an approver in on the approval page (it was refused)", async () => {
    const asked = await call(gateway.url, 'globex', env.AGENT_KEY, 'fake_deleteItem', { itemId: 'i1' });
    const error = asked.result?.structuredContent?.error;
    expect(error?.code, JSON.stringify(asked.result)).toBe('approval_required');
    const link = String(error?.details?.['approvalUrl']);
    expect(await agentApproves(link, { approverToken: `${env.APPROVER_TOKEN}x` })).toBe(401);
    expect(await agentApproves(link, { approverToken: env.APPROVER_TOKEN })).toBe(200);
  });

  it("a created tenant's OAuth connections are refreshed in the background with its refreshMarginSeconds", async () => {
    const as = await startFakeRefreshServer({ clientSecret: env.AS_SECRET });
    try {
      const created = await admin(gateway.url, 'POST', '/tenants', initech(as));
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      // 90 s left: outside the default 60 s margin, inside the tenant's 120 s.
      await seedOAuthConnection(gateway.adapters, as, {
        tenantId: 'initech',
        id: 'c1',
        service: 'fake',
        subject: 'alice',
        accessExpiresAt: Date.now() + 90_000,
      });
      const store = gateway.adapters.store;
      await within(5_000, 'the idle connection refreshed', async () => {
        return ((await store.connections.get('initech', 'c1'))?.tokenVersion ?? 0) >= 2;
      });
      expect(as.tokenRequests()).toBe(1);
    } finally {
      await as.close();
    }
  });

  it('a federated service removed from a tenant stops being listed', async () => {
    const stored = await gateway.gateway.tenantConfigs?.read('globex');
    const document = globex(['agent']);
    await gateway.gateway.tenantConfigs?.write(
      'globex',
      { ...document, services: (document.services ?? []).filter((s) => s['id'] !== 'linear') } as TenantDocument,
      { expectedRevision: stored?.revision ?? null, actor: 'apply' },
    );
    await within(5_000, 'linear gone', async () => {
      const tools = (await rpc(gateway.url, 'globex', env.AGENT_KEY, 'tools/list')).result?.tools ?? [];
      return !tools.some((t) => t.name === 'linear_echo');
    });
    expect(gateway.gateway.federation?.status().filter((s) => s.tenant === 'globex')).toEqual([]);
  });
});

describe.skipIf(!postgres?.enabled)(
  'a tenant created at run time through gateway A is served in full by gateway B (PostgreSQL)',
  () => {
    let database: TestDatabase;
    const fleet: TestGateway[] = [];

    beforeAll(async () => {
      database = await postgres!.create();
      const masterKey = randomBytes(32).toString('base64');
      for (let i = 0; i < 2; i++) {
        const raw = gatewayConfig({ masterKey, ...(redisUrl ? { redis: redisUrl } : {}) });
        fleet.push(await startTestGateway(raw, { store: database.url, live: {}, port: await freePort(), env }));
      }
    }, 240_000);

    afterAll(async () => {
      for (const gateway of fleet) await gateway.close();
      await database?.drop();
    });

    it("its document's client keys, federated service, approver token and refresh settings work through B", async () => {
      const [a, b] = fleet as [TestGateway, TestGateway];
      const created = await admin(a.url, 'POST', '/tenants', globex());
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const ms = await within(
        10_000,
        'the configured key through B',
        async () => (await call(b.url, 'globex', env.AGENT_KEY, 'fake_listItems')).status === 200,
      );
      console.log(`run-time tenant: its document's client key answered through B after ${Math.round(ms)} ms`);
      const echoed = await call(b.url, 'globex', env.AGENT_KEY, 'linear_echo', { text: 'from b' });
      expect(echoed.result?.content?.[0]?.text, JSON.stringify(echoed.result)).toBe('echo: from b');
      const asked = await call(b.url, 'globex', env.AGENT_KEY, 'fake_deleteItem', { itemId: 'i1' });
      const link = String(asked.result?.structuredContent?.error?.details?.['approvalUrl']);
      expect(await agentApproves(link, { approverToken: env.APPROVER_TOKEN })).toBe(200);

      // The spare key removed through A's store: refused through B too.
      const stored = await a.gateway.tenantConfigs?.read('globex');
      await a.gateway.tenantConfigs?.write('globex', globex(['agent']), {
        expectedRevision: stored?.revision ?? null,
        actor: 'apply',
      });
      await within(
        10_000,
        'the spare key refused through B',
        async () => (await call(b.url, 'globex', env.SPARE_KEY, 'fake_listItems')).status === 401,
      );

      const as = await startFakeRefreshServer({ clientSecret: env.AS_SECRET });
      try {
        expect((await admin(a.url, 'POST', '/tenants', initech(as))).status).toBe(201);
        await within(10_000, 'initech served by B', async () => b.gateway.live?.hasTenant('initech') === true);
        await seedOAuthConnection(b.adapters, as, {
          tenantId: 'initech',
          id: 'c1',
          service: 'fake',
          subject: 'alice',
          accessExpiresAt: Date.now() + 90_000,
        });
        await within(10_000, 'the idle connection refreshed', async () => {
          return ((await b.adapters.store.connections.get('initech', 'c1'))?.tokenVersion ?? 0) >= 2;
        });
        // Both processes sweep; the lock lets one redeem.
        expect(as.tokenRequests()).toBe(1);
      } finally {
        await as.close();
      }
    }, 120_000);
  },
);
