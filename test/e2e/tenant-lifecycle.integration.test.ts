/**
 * Issue 14, tenants at run time: `POST /api/v1/tenants` in one gateway makes a tenant that every gateway serves at
 * once (its MCP endpoint with a client key made through the API, its audit chain with keys that verifies, its
 * authorization server's metadata, users who are invited and sign in to the console), and
 * `DELETE /api/v1/tenants/{tenant}?purge=true` makes it answer 404 everywhere. Two gateways share PostgreSQL and
 * Redis (each its own pools and LISTEN connection, as separate processes have); one more runs alone on SQLite.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuditCheckpointKey, verifyAuditChain } from '../../src/audit/index.ts';
import { callAdminApi } from '../support/call-admin-api.ts';
import { freePort } from '../support/free-port.ts';
import { seedOAuthConnection } from '../support/seed-oauth-connection.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startFakeRefreshServer } from '../support/start-fake-refresh-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { type TestDatabase, testDatabases } from '../support/test-databases.ts';

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const postgres = testDatabases('/tmp').find((kind) => kind.name === 'postgres');
const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];
const adminToken = 'admin-token-for-tenant-lifecycle-0123456789';

let api: FakeApi;

const acme = () => ({
  id: 'acme',
  services: [{ id: 'fake', openapi: description, baseUrl: api.url }],
  toolsets: [{ id: 'reader', tools: ['fake_*'] }],
});
const globex = () => ({
  id: 'globex',
  services: [{ id: 'fake', openapi: description, baseUrl: api.url }],
  toolsets: [{ id: 'reader', tools: ['fake_list*', 'fake_get*'], discovery: { mode: 'never' } }],
});

/** The fields of admin API answers this suite reads. */
interface AdminBody {
  readonly [field: string]: unknown;
  readonly details?: { readonly field?: string };
  readonly detail?: string;
  readonly user?: { readonly id: string };
  readonly tenants?: readonly { readonly id: string }[];
  readonly key?: string;
  readonly token?: string;
  readonly inviteUrl?: string;
}

const admin = (url: string, method: string, path: string, body?: unknown, token = adminToken) =>
  callAdminApi<AdminBody>(url, token, method, path, body);

let rpcId = 0;
async function callTool(url: string, key: string, tenant = 'globex') {
  const response = await fetch(`${url}/mcp/${tenant}/reader`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: ++rpcId,
      method: 'tools/call',
      params: { name: 'fake_listItems', arguments: {} },
    }),
  });
  const text = await response.text();
  return { status: response.status, text };
}

const oauthMetadata = (url: string) =>
  fetch(`${url}/.well-known/oauth-authorization-server/oauth/globex`).then(async (r) => ({
    status: r.status,
    body: r.status === 200 ? ((await r.json()) as { issuer?: string }) : {},
  }));

/** Polls until `check` holds (every 20 ms), failing after `limitMs`; answers how long it took. */
async function within(limitMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - started;
}

/** Invites a user through the admin API of `url`, sets their password, makes them owner; answers their id. */
async function inviteOwner(url: string, gateway: TestGateway, name: string, password: string): Promise<string> {
  const created = await admin(url, 'POST', '/tenants/globex/users', { name });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  await gateway.gateway.users?.acceptInvite(String(created.body.inviteUrl).split('/invite/')[1] as string, password);
  const id = String(created.body.user?.id);
  expect([200, 201, 204]).toContain((await admin(url, 'PUT', `/tenants/globex/users/${id}/roles/owner`)).status);
  return id;
}

/** Signs in on the tenant's sign-in page as a script would and opens the console: its status. */
async function consoleAfterSignIn(url: string, name: string, password: string): Promise<number> {
  const form = await fetch(`${url}/signin/globex`);
  const cookie = (form.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const signedIn = await fetch(`${url}/signin/globex`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ name, password, csrf, return: '' }).toString(),
  });
  const session = /gatehouse_session=([^;]+)/.exec(signedIn.headers.getSetCookie().join('\n'))?.[1];
  expect(session, `sign-in answered ${signedIn.status}`).toBeDefined();
  const page = await fetch(`${url}/console/globex`, {
    redirect: 'manual',
    headers: { cookie: `gatehouse_session=${session}` },
  });
  return page.status;
}

/** What `gatehouse audit verify` checks: the chain, with the tenant's checkpoint key (which must exist). */
async function verifyAudit(gateway: TestGateway) {
  await gateway.adapters.audit?.flush();
  const key = await loadAuditCheckpointKey(gateway.adapters.store.audit, gateway.adapters.vault, 'globex');
  const report = await verifyAuditChain(gateway.adapters.store.audit, 'globex', key ? { checkpointKey: key } : {});
  return { hasKey: key !== undefined, report };
}

beforeAll(async () => {
  api = await startFakeApi();
  api.handle((_request, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ id: 'i1', name: 'first' }]));
  });
});

afterAll(async () => {
  await api?.close();
});

describe.skipIf(!postgres?.enabled)(
  'tenants created and deleted at run time, two gateways (PostgreSQL + Redis)',
  () => {
    let database: TestDatabase;
    const fleet: TestGateway[] = [];

    beforeAll(async () => {
      database = await postgres!.create();
      const masterKey = randomBytes(32).toString('base64');
      for (let i = 0; i < 2; i++) {
        const raw = {
          masterKey,
          adminToken,
          unsafeAllowPrivateUpstreams: ['127.0.0.1'],
          ...(redisUrl ? { redis: redisUrl } : {}),
          tenants: [acme()],
        };
        // A fixed port: the authorization server's issuer is the public URL.
        fleet.push(await startTestGateway(raw, { store: database.url, live: {}, port: await freePort() }));
      }
    }, 240_000);

    afterAll(async () => {
      for (const gateway of fleet) await gateway.close();
      await database?.drop();
    });

    it('a tenant created through gateway A works at once in A and B; deleted, it answers 404 in both', async () => {
      const [a, b] = fleet as [TestGateway, TestGateway];

      // Bad input names the field; a tenant admin cannot create tenants.
      const bad = await admin(a.url, 'POST', '/tenants', {
        ...globex(),
        toolsets: [{ id: 'reader', access: 'sometimes' }],
      });
      expect(bad.status).toBe(422);
      expect(bad.body.details?.field).toBe('toolsets[0].access');
      const acmeOwner = await a.gateway.users!.createUser('acme', { name: 'olga' }, 'operator');
      await admin(a.url, 'PUT', `/tenants/acme/users/${acmeOwner.user.id}/roles/owner`);
      const pat = await admin(a.url, 'POST', `/tenants/acme/users/${acmeOwner.user.id}/api-tokens`, { name: 'script' });
      const ownerToken = String(pat.body.token);
      expect((await admin(a.url, 'POST', '/tenants', globex(), ownerToken)).status).toBe(403);

      const created = await admin(a.url, 'POST', '/tenants', globex());
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({ id: 'globex', revision: 1 });
      expect((await admin(a.url, 'POST', '/tenants', globex())).status).toBe(409);
      const listed = await admin(b.url, 'GET', '/tenants');
      expect(listed.body.tenants?.map((t) => t.id)).toContain('globex');

      // A client key made through A calls the new tenant's endpoint through B.
      const key = await admin(a.url, 'POST', '/tenants/globex/keys', { name: 'agent', toolsets: ['reader'] });
      expect(key.status, JSON.stringify(key.body)).toBe(201);
      const ms = await within(
        10_000,
        'the call through B',
        async () => (await callTool(b.url, String(key.body.key))).status === 200,
      );
      const answer = await callTool(b.url, String(key.body.key));
      expect(answer.text).toContain('first');
      expect(answer.text).not.toContain('"isError":true');
      console.log(`tenant created through A: a client key call through B answered after ${Math.round(ms)} ms`);
      expect((await callTool(a.url, String(key.body.key))).status).toBe(200);

      // Its audit chain has keys and verifies, read by either process.
      for (const gateway of [a, b]) {
        const { hasKey, report } = await verifyAudit(gateway);
        expect(hasKey).toBe(true);
        expect(report.ok, JSON.stringify(report)).toBe(true);
        expect(report.checked).toBeGreaterThan(0);
      }

      // Its authorization server: metadata in both processes, each naming its own issuer.
      for (const gateway of [a, b]) {
        const metadata = await oauthMetadata(gateway.url);
        expect(metadata.status).toBe(200);
        expect(metadata.body.issuer).toBe(`${gateway.url}/oauth/globex`);
        const resource = await fetch(`${gateway.url}/.well-known/oauth-protected-resource/mcp/globex/reader`);
        expect(resource.status).toBe(200);
      }

      // A user invited through B signs in to the console through A.
      await inviteOwner(b.url, b, 'gina', 'gina-password-12345');
      expect(await consoleAfterSignIn(a.url, 'gina', 'gina-password-12345')).toBe(200);

      // Deleting: the operator only, refused while the tenant holds things, then purged.
      expect((await admin(a.url, 'DELETE', '/tenants/globex', undefined, ownerToken)).status).toBe(403);
      const refused = await admin(a.url, 'DELETE', '/tenants/globex');
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toMatch(/not empty \(1 service, 1 toolset, 1 user, 1 client key\)/);
      const deleted = await admin(a.url, 'DELETE', '/tenants/globex?purge=true');
      expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
      expect(deleted.body['purged']).toMatchObject({
        tenant: 'globex',
        rows: { client_keys: 1, users: 1, tenant_configs: 0 },
      });
      for (const gateway of [a, b]) {
        // The endpoint answers as one that never existed does (MT-01: 404, or 401 once the purged key is forgotten).
        await within(10_000, `globex gone from ${gateway === a ? 'A' : 'B'}`, async () => {
          const gone = await callTool(gateway.url, String(key.body.key));
          const never = await callTool(gateway.url, String(key.body.key), 'never-existed');
          return gone.status !== 200 && gone.status === never.status;
        });
        expect((await oauthMetadata(gateway.url)).status).toBe(404);
        expect((await fetch(`${gateway.url}/signin/globex`)).status).toBe(404);
        expect((await admin(gateway.url, 'GET', '/tenants/globex/keys')).status).toBe(404);
      }
      expect((await admin(b.url, 'DELETE', '/tenants/globex')).status).toBe(404);
      // The tenant that was there from the start is untouched.
      expect((await admin(b.url, 'GET', '/tenants')).body.tenants?.map((t) => t.id)).toEqual(['acme']);
    }, 120_000);
  },
);

describe('tenants created and deleted at run time, one gateway (SQLite)', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway(
      { adminToken, unsafeAllowPrivateUpstreams: ['127.0.0.1'], tenants: [acme()] },
      { live: {}, port: await freePort(), env: { INITECH_SECRET: 'initech-client-secret-0123456789' } },
    );
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
  });

  it('a created tenant serves its endpoint, audit chain, authorization server and users; deleted, it is gone', async () => {
    const { url } = gateway;
    const created = await admin(url, 'POST', '/tenants', globex());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = await admin(url, 'POST', '/tenants/globex/keys', { name: 'agent', toolsets: ['reader'] });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    const answer = await callTool(url, String(key.body.key));
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('first');
    const { hasKey, report } = await verifyAudit(gateway);
    expect(hasKey).toBe(true);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    expect((await oauthMetadata(url)).body.issuer).toBe(`${url}/oauth/globex`);
    await inviteOwner(url, gateway, 'gina', 'gina-password-12345');
    expect(await consoleAfterSignIn(url, 'gina', 'gina-password-12345')).toBe(200);

    const deleted = await admin(url, 'DELETE', '/tenants/globex?purge=true');
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    const gone = await callTool(url, String(key.body.key));
    expect(gone.status).not.toBe(200);
    expect(gone.status).toBe((await callTool(url, String(key.body.key), 'never-existed')).status);
    expect((await oauthMetadata(url)).status).toBe(404);
    expect((await fetch(`${url}/signin/globex`)).status).toBe(404);
  }, 120_000);

  it("a created tenant's OAuth connection refreshes its expired token (the refresh read only the file's tenants)", async () => {
    const as = await startFakeRefreshServer({ clientSecret: 'initech-client-secret-0123456789' });
    try {
      const created = await admin(gateway.url, 'POST', '/tenants', {
        id: 'initech',
        services: [
          {
            id: 'fake',
            openapi: description,
            baseUrl: api.url,
            auth: {
              type: 'oauth2',
              tokenUrl: as.tokenUrl,
              clientId: as.clientId,
              clientSecret: '${env:INITECH_SECRET}',
            },
          },
        ],
        toolsets: [{ id: 'reader', tools: ['fake_*'], access: 'read' }],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const key = await admin(gateway.url, 'POST', '/tenants/initech/keys', {
        name: 'agent',
        toolsets: ['reader'],
        subject: 'alice',
      });
      expect(key.status, JSON.stringify(key.body)).toBe(201);
      await seedOAuthConnection(gateway.adapters, as, {
        tenantId: 'initech',
        id: 'c-alice',
        service: 'fake',
        subject: 'alice',
        accessExpiresAt: Date.now() - 1_000,
      });
      const answer = await callTool(gateway.url, String(key.body.key), 'initech');
      expect(answer.text).not.toContain('"isError":true');
      expect(answer.text).toContain('first');
      expect(as.tokenRequests()).toBe(1);
    } finally {
      await as.close();
    }
  }, 120_000);

  it('purged tenant id reused: creating a tenant with a purged id is refused (409, naming why), another id is not', async () => {
    expect((await admin(gateway.url, 'POST', '/tenants', { id: 'shortlived' })).status).toBe(201);
    const purged = await admin(gateway.url, 'DELETE', '/tenants/shortlived?purge=true');
    expect(purged.status, JSON.stringify(purged.body)).toBe(200);
    const again = await admin(gateway.url, 'POST', '/tenants', { id: 'shortlived' });
    expect(again.status, JSON.stringify(again.body)).toBe(409);
    expect(JSON.stringify(again.body)).toContain("tenant 'shortlived' was purged");
    expect((await admin(gateway.url, 'POST', '/tenants', { id: 'shortlived-2' })).status).toBe(201);
  });

  it('an empty tenant is deleted without purge', async () => {
    const created = await admin(gateway.url, 'POST', '/tenants', { id: 'empty' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const deleted = await admin(gateway.url, 'DELETE', '/tenants/empty');
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body).toEqual({ deleted: true });
  });
});
