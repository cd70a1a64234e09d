import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchFromAddress } from '../support/fetch-from-address.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 14, roles: every route of the admin API, as its own OpenAPI document lists them (so the document is proven
 * complete: a route it leaves out is missing from the table below, and the table must equal the document), is
 * called by every kind of caller, and answers 401/403 exactly when the caller's role is not allowed.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-role-tests-0123456789';

const all = ['owner', 'admin', 'approver', 'member', 'auditor'] as const;
const configure = ['owner', 'admin'] as const;
const readAudit = ['owner', 'approver', 'auditor'] as const;
const decide = ['owner', 'approver'] as const;

/** Who may call what: written out here, independently of the route table, one row per route. */
const expectedRoles: Record<string, readonly string[]> = {
  'GET /api/v1/openapi.json': all,
  'GET /api/v1/tenants': all,
  'POST /api/v1/tenants': [],
  'DELETE /api/v1/tenants/{tenant}': [],
  'GET /api/v1/tenants/{tenant}/federation': configure,
  'GET /api/v1/tenants/{tenant}/keys': configure,
  'POST /api/v1/tenants/{tenant}/keys': configure,
  'DELETE /api/v1/tenants/{tenant}/keys/{key}': configure,
  'GET /api/v1/tenants/{tenant}/audit': readAudit,
  'GET /api/v1/tenants/{tenant}/audit/export': readAudit,
  'GET /api/v1/tenants/{tenant}/approvals': decide,
  'POST /api/v1/tenants/{tenant}/approvals/{id}/approve': decide,
  'POST /api/v1/tenants/{tenant}/approvals/{id}/deny': decide,
  'GET /api/v1/tenants/{tenant}/connections': ['owner', 'admin', 'member'],
  'POST /api/v1/tenants/{tenant}/connections': ['owner', 'admin', 'member'],
  'DELETE /api/v1/tenants/{tenant}/connections/{connection}': ['owner', 'admin', 'member'],
  'GET /api/v1/tenants/{tenant}/users': configure,
  'POST /api/v1/tenants/{tenant}/users': configure,
  'POST /api/v1/tenants/{tenant}/users/{user}/disable': configure,
  'POST /api/v1/tenants/{tenant}/users/{user}/invite': configure,
  'GET /api/v1/tenants/{tenant}/roles': configure,
  'PUT /api/v1/tenants/{tenant}/users/{user}/roles/{role}': configure,
  'DELETE /api/v1/tenants/{tenant}/users/{user}/roles/{role}': configure,
  'GET /api/v1/tenants/{tenant}/api-tokens': all,
  'POST /api/v1/tenants/{tenant}/users/{user}/api-tokens': all,
  'DELETE /api/v1/tenants/{tenant}/api-tokens/{token}': all,
  'GET /api/v1/tenants/{tenant}/services': configure,
  'POST /api/v1/tenants/{tenant}/services': configure,
  'POST /api/v1/tenants/{tenant}/services/preview': configure,
  'POST /api/v1/tenants/{tenant}/services/import': configure,
  'GET /api/v1/tenants/{tenant}/services/{service}': configure,
  'PUT /api/v1/tenants/{tenant}/services/{service}': configure,
  'DELETE /api/v1/tenants/{tenant}/services/{service}': configure,
  'GET /api/v1/tenants/{tenant}/toolsets': configure,
  'POST /api/v1/tenants/{tenant}/toolsets': configure,
  'GET /api/v1/tenants/{tenant}/toolsets/{toolset}': configure,
  'PUT /api/v1/tenants/{tenant}/toolsets/{toolset}': configure,
  'DELETE /api/v1/tenants/{tenant}/toolsets/{toolset}': configure,
  'GET /api/v1/tenants/{tenant}/limits': configure,
  'PUT /api/v1/tenants/{tenant}/limits': configure,
  'GET /api/v1/tenants/{tenant}/toolsets/{toolset}/limits': configure,
  'PUT /api/v1/tenants/{tenant}/toolsets/{toolset}/limits': configure,
  'GET /api/v1/tenants/{tenant}/toolsets/{toolset}/approval': configure,
  'PUT /api/v1/tenants/{tenant}/toolsets/{toolset}/approval': configure,
  'GET /api/v1/tenants/{tenant}/usage': ['owner', 'admin', 'auditor'],
  'GET /api/v1/tenants/{tenant}/alerts/rules': ['owner', 'admin', 'auditor'],
  'GET /api/v1/tenants/{tenant}/alerts/deliveries': ['owner', 'admin', 'auditor'],
  'GET /api/v1/tenants/{tenant}/alert-rules': configure,
  'POST /api/v1/tenants/{tenant}/alert-rules': configure,
  'GET /api/v1/tenants/{tenant}/alert-rules/{rule}': configure,
  'PUT /api/v1/tenants/{tenant}/alert-rules/{rule}': configure,
  'DELETE /api/v1/tenants/{tenant}/alert-rules/{rule}': configure,
};

type Operation = { 'x-gatehouse-roles': string[] };
type Document = { paths: Record<string, Record<string, Operation>> };

let gateway: TestGateway;
/** A personal API token per caller kind: one user per role in acme, one without a role, an owner of beta. */
const tokens: Record<string, string> = {};
const userIds: Record<string, string> = {};

const call = (path: string, init: RequestInit = {}, token?: string) =>
  fetch(`${gateway.url}${path}`, {
    ...init,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers ?? {}),
    },
  });

async function json<T>(response: Response | Promise<Response>, status = 200): Promise<T> {
  const answer = await response;
  const text = await answer.text();
  expect(answer.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function userWithToken(tenant: string, name: string, role: string | undefined): Promise<void> {
  const created = await json<{ user: { id: string } }>(
    call(`/api/v1/tenants/${tenant}/users`, { method: 'POST', body: JSON.stringify({ name }) }, adminToken),
    201,
  );
  const id = created.user.id;
  userIds[name] = id;
  if (role !== undefined) {
    await json(call(`/api/v1/tenants/${tenant}/users/${id}/roles/${role}`, { method: 'PUT' }, adminToken));
  }
  const token = await json<{ token: string }>(
    call(`/api/v1/tenants/${tenant}/users/${id}/api-tokens`, { method: 'POST', body: '{"name":"t"}' }, adminToken),
    201,
  );
  tokens[name] = token.token;
}

beforeAll(async () => {
  const tenants = [
    {
      id: 'acme',
      services: [{ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9', auth: { type: 'none' } }],
      toolsets: [{ id: 'reader', tools: ['fake_*'] }],
    },
    { id: 'beta', toolsets: [{ id: 'other', tools: ['*'] }] },
  ];
  // The gateway follows its stored configurations (issue 14): the resource routes run on the real store.
  gateway = await startTestGateway({ adminToken, tenants }, { live: {} });
  for (const role of all) await userWithToken('acme', role, role);
  await userWithToken('acme', 'nobody', undefined);
  await userWithToken('beta', 'beta-owner', 'owner');
}, 120_000);

afterAll(async () => {
  await gateway?.close();
});

/**
 * A request every caller may send without changing anything that matters: made-up ids and bodies that fail, except
 * `{user}` of a user's own API tokens, which is the caller themselves (anyone may manage their own).
 */
function requestFor(method: string, template: string, self: string | undefined): { path: string; init: RequestInit } {
  const path = template
    .replace('{tenant}', 'acme')
    .replace('{user}', template.endsWith('/users/{user}/api-tokens') ? (self ?? 'no-such-id') : 'no-such-id')
    .replace(/\{[^}]+\}/g, 'no-such-id');
  return { path, init: { method, ...(method === 'POST' || method === 'PUT' ? { body: '{}' } : {}) } };
}

describe('admin API roles (issue 14)', () => {
  it('the OpenAPI document lists exactly the routes of the role table, each with the roles the table expects', async () => {
    const document = await json<Document>(call('/api/v1/openapi.json', {}, adminToken));
    const described = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => [`${method.toUpperCase()} ${path}`, operation] as const),
    );
    expect(described.map(([route]) => route).sort()).toEqual(Object.keys(expectedRoles).sort());
    for (const [route, operation] of described) {
      expect(operation['x-gatehouse-roles'], route).toEqual(['operator', ...(expectedRoles[route] ?? [])]);
    }
    // docs/admin-api.md lists every route too, resource routes included.
    const docs = readFileSync(fileURLToPath(new URL('../../docs/admin-api.md', import.meta.url)), 'utf8');
    const listed = new Set(
      [...docs.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) (\/api\/v1\/[^`]*)` \|/gm)].map((m) => `${m[1]} ${m[2]}`),
    );
    expect(described.map(([route]) => route).filter((route) => !listed.has(route))).toEqual([]);
  });

  it('runs every route of the document as every role: 403 exactly where the role is not allowed', async () => {
    const document = await json<Document>(call('/api/v1/openapi.json', {}, adminToken));
    const failures: string[] = [];
    let routeIndex = 0;
    for (const [template, methods] of Object.entries(document.paths)) {
      for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
        const route = `${method} ${template}`;
        const allowed = new Set(expectedRoles[route] ?? []);
        const callers: [string, string | undefined, 'allowed' | 401 | 403, string | undefined][] = [
          ['operator', adminToken, 'allowed', undefined],
          ...all.map(
            (role) =>
              [role, tokens[role], allowed.has(role) ? 'allowed' : 403, userIds[role]] as [string, string, 403, string],
          ),
          ['no role', tokens['nobody'], 403, userIds['nobody']],
          [
            'owner of another tenant',
            tokens['beta-owner'],
            template.includes('{tenant}') || allowed.size === 0 ? 403 : 'allowed',
            undefined,
          ],
          ['no credential', undefined, 401, undefined],
          ['a made-up token', 'gatehouse_pat_acme_'.padEnd(83, '0'), 401, undefined],
        ];
        routeIndex += 1;
        for (const [who, token, expected, self] of callers) {
          const { path, init } = requestFor(method, template, self);
          // The made-up token comes from another loopback address every 20 routes: an address may send 30 wrong
          // tokens a minute (finding admin_token_guessing), and each route must answer for itself.
          const response =
            who === 'a made-up token'
              ? await fetchFromAddress(`127.0.3.${1 + Math.floor(routeIndex / 20)}`, `${gateway.url}${path}`, {
                  method,
                  headers: {
                    authorization: `Bearer ${token}`,
                    ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
                  },
                  ...(typeof init.body === 'string' ? { body: init.body } : {}),
                })
              : await call(path, init, token);
          const body = await response.text();
          const ok =
            expected === 'allowed' ? response.status !== 401 && response.status !== 403 : response.status === expected;
          if (!ok) failures.push(`${route} as ${who}: ${response.status} ${body.slice(0, 160)}`);
          if (response.status === 403) {
            expect(response.headers.get('content-type'), route).toContain('application/problem+json');
            expect(JSON.parse(body).code, route).toBe('forbidden');
          }
        }
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('a user sees only their own tenant in the tenant list', async () => {
    const list = await json<{ tenants: { id: string }[] }>(call('/api/v1/tenants', {}, tokens['member']));
    expect(list.tenants.map((t) => t.id)).toEqual(['acme']);
  });

  it('an admin cannot grant owner, and nobody changes their own roles', async () => {
    const target = userIds['nobody'];
    const grantOwner = await call(
      `/api/v1/tenants/acme/users/${target}/roles/owner`,
      { method: 'PUT' },
      tokens['admin'],
    );
    expect(grantOwner.status).toBe(403);
    const self = await call(
      `/api/v1/tenants/acme/users/${userIds['admin']}/roles/owner`,
      { method: 'PUT' },
      tokens['admin'],
    );
    expect(self.status).toBe(403);
    const grant = await call(`/api/v1/tenants/acme/users/${target}/roles/auditor`, { method: 'PUT' }, tokens['admin']);
    expect(grant.status).toBe(200);
    const roles = await json<{ roles: { userId: string; role: string; grantedBy: string }[] }>(
      call('/api/v1/tenants/acme/roles', {}, tokens['owner']),
    );
    expect(roles.roles).toContainEqual(
      expect.objectContaining({ userId: target, role: 'auditor', grantedBy: `user:${userIds['admin']}` }),
    );
    await json(call(`/api/v1/tenants/acme/users/${target}/roles/auditor`, { method: 'DELETE' }, tokens['owner']));
    const bad = await call(`/api/v1/tenants/acme/users/${target}/roles/superuser`, { method: 'PUT' }, tokens['owner']);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { details: { field: string } }).details.field).toBe('role');
  });

  it('admin_takes_over_owner: an admin cannot reinvite, disable or mint an API token for an owner (an owner can)', async () => {
    // A second owner, so that the admin's attempts target someone other than the caller.
    const created = await json<{ user: { id: string } }>(
      call('/api/v1/tenants/acme/users', { method: 'POST', body: '{"name":"second-owner"}' }, adminToken),
      201,
    );
    const owner = created.user.id;
    await json(call(`/api/v1/tenants/acme/users/${owner}/roles/owner`, { method: 'PUT' }, adminToken));
    // A new invite link sets the owner's password, an API token acts as the owner: both would let the admin grant
    // itself owner; disabling an owner removes one, which only an owner may do.
    const attempts = [
      [`/api/v1/tenants/acme/users/${owner}/invite`, { method: 'POST' }],
      [`/api/v1/tenants/acme/users/${owner}/api-tokens`, { method: 'POST', body: '{"name":"takeover"}' }],
      [`/api/v1/tenants/acme/users/${owner}/disable`, { method: 'POST' }],
    ] as const;
    for (const [path, init] of attempts) {
      const answer = await call(path, init, tokens['admin']);
      const body = await answer.text();
      expect(answer.status, `${path}: ${body}`).toBe(403);
      expect(JSON.parse(body).detail).toContain('Only an owner');
    }
    const tokensOfOwner = await json<{ tokens: { userId: string }[] }>(
      call('/api/v1/tenants/acme/api-tokens', {}, tokens['owner']),
    );
    expect(tokensOfOwner.tokens.filter((t) => t.userId === owner)).toEqual([]);
    const users = await json<{ users: { id: string; status: string }[] }>(
      call('/api/v1/tenants/acme/users', {}, tokens['owner']),
    );
    expect(users.users.find((u) => u.id === owner)?.status).not.toBe('disabled');
    // An admin still manages users who are no owner; an owner manages owners.
    await json(
      call(`/api/v1/tenants/acme/users/${userIds['nobody']}/invite`, { method: 'POST' }, tokens['admin']),
      201,
    );
    for (const [path, init] of attempts) {
      const answer = await call(path, init, tokens['owner']);
      expect(answer.status, path).toBeLessThan(300);
      await answer.body?.cancel();
    }
  });

  it('personal API tokens are shown once, listed by prefix, and stop working when revoked', async () => {
    const created = await json<{ id: string; token: string; prefix: string }>(
      call(
        `/api/v1/tenants/acme/users/${userIds['member']}/api-tokens`,
        { method: 'POST', body: '{"name":"ci"}' },
        tokens['member'],
      ),
      201,
    );
    expect(created.token).toMatch(/^gatehouse_pat_acme_[0-9a-f]{64}$/);
    const listed = await call('/api/v1/tenants/acme/api-tokens', {}, tokens['member']);
    const text = await listed.text();
    expect(text).toContain(created.prefix);
    expect(text).not.toContain(created.token);
    // A member lists only their own tokens, and cannot create one for someone else.
    expect(
      (JSON.parse(text) as { tokens: { userId: string }[] }).tokens.every((t) => t.userId === userIds['member']),
    ).toBe(true);
    const forOther = await call(
      `/api/v1/tenants/acme/users/${userIds['owner']}/api-tokens`,
      { method: 'POST', body: '{"name":"x"}' },
      tokens['member'],
    );
    expect(forOther.status).toBe(403);
    expect((await call('/api/v1/tenants/acme/connections', {}, created.token)).status).toBe(200);
    await json(call(`/api/v1/tenants/acme/api-tokens/${created.id}`, { method: 'DELETE' }, tokens['member']));
    expect((await call('/api/v1/tenants/acme/connections', {}, created.token)).status).toBe(401);
  });

  it('a signed-in browser session is a caller too, and its changes need the X-CSRF-Token', async () => {
    const users = gateway.gateway.users;
    if (users === undefined) throw new Error('the test gateway has users');
    const invited = await json<{ user: { id: string }; inviteUrl: string }>(
      call('/api/v1/tenants/acme/users', { method: 'POST', body: '{"name":"browser-admin"}' }, adminToken),
      201,
    );
    await json(call(`/api/v1/tenants/acme/users/${invited.user.id}/roles/admin`, { method: 'PUT' }, adminToken));
    const inviteToken = new URL(invited.inviteUrl).pathname.split('/').at(-1) as string;
    const session = await users.acceptInvite(inviteToken, 'a long enough password 123');
    const cookie = `gatehouse_session=${session.id}`;
    const active = await users.activeSession('acme', cookie);
    expect((await call('/api/v1/tenants/acme/services', { headers: { cookie } })).status).toBe(200);
    const withoutCsrf = await call('/api/v1/tenants/acme/limits', { method: 'PUT', body: '{}', headers: { cookie } });
    expect(withoutCsrf.status).toBe(403);
    const withCsrf = await call('/api/v1/tenants/acme/limits', {
      method: 'PUT',
      body: '{}',
      headers: { cookie, 'x-csrf-token': active?.csrfToken ?? '' },
    });
    expect(withCsrf.status).toBe(200);
    // The session is of acme: it is no credential at beta.
    expect((await call('/api/v1/tenants/beta/services', { headers: { cookie } })).status).toBe(401);
  });
});
