import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/store/index.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 14, finding audit_actor_missing (newcomer): every change a person makes through the admin API writes a
 * security record whose `subject` names who made it: `operator` for the admin token (the console's operator session
 * is the same person, recorded by the same name), `user:<id>` for a user's API token. Before, `key_created`,
 * `key_revoked`, `user_created`, `user_disabled` and a disconnect named what was changed instead (the key's subject,
 * the user, the connection's subject), a new invite link wrote no record, and the admin token was `admin`.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-audit-actors-0123456789';

let gateway: TestGateway;
let userId = '';
let userToken = '';

const call = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${gateway.url}/api/v1/tenants/acme${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
  });

async function json<T>(response: Promise<Response>, status: number): Promise<T> {
  const answer = await response;
  const text = await answer.text();
  expect(answer.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function records(): Promise<readonly AuditRecord[]> {
  await gateway.adapters.audit?.flush();
  return gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'security', limit: 1000 });
}

let seeded = 0;
/** An active OAuth connection of `subject`, as a completed consent leaves it (no tokens needed to delete it). */
async function seedConnection(subject: string): Promise<string> {
  const id = `conn_actor_${++seeded}`;
  await gateway.adapters.store.connections.upsert({
    tenantId: 'acme',
    id,
    service: 'oauthy',
    subject,
    status: 'active',
    scopes: ['read'],
    accessToken: null,
    refreshToken: null,
    accessExpiresAt: null,
    createdAt: Date.now(),
  });
  return id;
}

/** One change per row: what it does (with the caller's token) and the event and target its record must carry. */
const changes: readonly {
  readonly event: string;
  readonly run: (token: string) => Promise<string>;
}[] = [
  {
    event: 'key_created',
    run: async (token) => {
      const name = `key-${Math.random().toString(36).slice(2, 8)}`;
      const created = await json<{ id: string }>(
        call('/keys', token, {
          method: 'POST',
          body: JSON.stringify({ name, toolsets: ['reader'], subject: 'alice' }),
        }),
        201,
      );
      return `client_key:${created.id}`;
    },
  },
  {
    event: 'key_revoked',
    run: async (token) => {
      const name = `key-${Math.random().toString(36).slice(2, 8)}`;
      const created = await json<{ id: string }>(
        call('/keys', adminToken, { method: 'POST', body: JSON.stringify({ name, toolsets: ['reader'] }) }),
        201,
      );
      await json(call(`/keys/${created.id}`, token, { method: 'DELETE' }), 200);
      return `client_key:${created.id}`;
    },
  },
  {
    event: 'user_created',
    run: async (token) => {
      const name = `u${Math.random().toString(36).slice(2, 8)}`;
      const created = await json<{ user: { id: string } }>(
        call('/users', token, { method: 'POST', body: JSON.stringify({ name }) }),
        201,
      );
      return `user:${created.user.id}`;
    },
  },
  {
    event: 'user_invited',
    run: async (token) => {
      const id = await newUser();
      await json(call(`/users/${id}/invite`, token, { method: 'POST' }), 201);
      return `user:${id}`;
    },
  },
  {
    event: 'user_disabled',
    run: async (token) => {
      const id = await newUser();
      await json(call(`/users/${id}/disable`, token, { method: 'POST' }), 200);
      return `user:${id}`;
    },
  },
  {
    event: 'role_granted',
    run: async (token) => {
      const id = await newUser();
      await json(call(`/users/${id}/roles/member`, token, { method: 'PUT' }), 200);
      return `user:${id}/role:member`;
    },
  },
  {
    event: 'role_revoked',
    run: async (token) => {
      const id = await newUser();
      await json(call(`/users/${id}/roles/member`, adminToken, { method: 'PUT' }), 200);
      await json(call(`/users/${id}/roles/member`, token, { method: 'DELETE' }), 200);
      return `user:${id}/role:member`;
    },
  },
  {
    event: 'api_token_created',
    run: async (token) => {
      const id = await newUser();
      const created = await json<{ id: string }>(
        call(`/users/${id}/api-tokens`, token, { method: 'POST', body: '{"name":"ci"}' }),
        201,
      );
      return `user:${id}/token:${created.id}`;
    },
  },
  {
    event: 'api_token_revoked',
    run: async (token) => {
      const id = await newUser();
      const created = await json<{ id: string }>(
        call(`/users/${id}/api-tokens`, adminToken, { method: 'POST', body: '{"name":"ci"}' }),
        201,
      );
      await json(call(`/api-tokens/${created.id}`, token, { method: 'DELETE' }), 200);
      return `user:${id}/token:${created.id}`;
    },
  },
  {
    event: 'connect',
    run: async (token) => {
      const id = await seedConnection('alice');
      await json(call(`/connections/${id}`, token, { method: 'DELETE' }), 200);
      return `connection:${id}`;
    },
  },
  {
    event: 'config_changed',
    run: async (token) => {
      const id = `t${Math.random().toString(36).slice(2, 8)}`;
      await json(call('/toolsets', token, { method: 'POST', body: JSON.stringify({ id, tools: ['fake_*'] }) }), 201);
      return `toolset:${id}`;
    },
  },
];

async function newUser(): Promise<string> {
  const name = `u${Math.random().toString(36).slice(2, 8)}`;
  const created = await json<{ user: { id: string } }>(
    call('/users', adminToken, { method: 'POST', body: JSON.stringify({ name }) }),
    201,
  );
  return created.user.id;
}

beforeAll(async () => {
  gateway = await startTestGateway(
    {
      adminToken,
      tenants: [
        {
          id: 'acme',
          services: [
            { id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9', auth: { type: 'none' } },
            {
              id: 'oauthy',
              openapi: description,
              baseUrl: 'http://127.0.0.1:9',
              auth: {
                type: 'oauth2',
                authorizationUrl: 'http://127.0.0.1:9/authorize',
                tokenUrl: 'http://127.0.0.1:9/token',
                clientId: 'gatehouse',
                clientSecret: '${env:OAUTHY_SECRET}',
              },
            },
          ],
          toolsets: [{ id: 'reader', tools: ['fake_*'] }],
        },
      ],
    },
    { live: {}, env: { OAUTHY_SECRET: 'client-secret-for-audit-actors-0123456789' } },
  );
  userId = await newUser();
  await json(call(`/users/${userId}/roles/admin`, adminToken, { method: 'PUT' }), 200);
  userToken = (
    await json<{ token: string }>(
      call(`/users/${userId}/api-tokens`, adminToken, { method: 'POST', body: '{"name":"t"}' }),
      201,
    )
  ).token;
}, 120_000);

afterAll(async () => {
  await gateway?.close();
});

describe('audit_actor_missing: every change names who made it (issue 14)', () => {
  for (const caller of ['operator', 'user'] as const) {
    for (const change of changes) {
      it(`${change.event} through the admin API with ${caller === 'operator' ? 'the admin token' : "a user's API token"} names ${caller === 'operator' ? 'operator' : 'user:<id>'}`, async () => {
        const target = await change.run(caller === 'operator' ? adminToken : userToken);
        const found = (await records()).filter((r) => r.event === change.event && r.target === target);
        expect(found.map((r) => r.subject)).toEqual([caller === 'operator' ? 'operator' : `user:${userId}`]);
      });
    }
  }
});
