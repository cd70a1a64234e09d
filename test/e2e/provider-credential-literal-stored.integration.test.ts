import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Breaker 11, finding: the admin API refuses a credential value only under a service's `auth` (`value`, `token`,
 * `password`, `clientSecret`) and the store's check (`findLiteralSecrets`) adds only the top-level `clientSecret`.
 * A catalogue service carries its credential at the top level (`provider: stripe, apiKey: ...`, `token:`,
 * `username`/`password:`), so a literal key is stored in the tenant document (database, backups, `gatehouse
 * export`) and shown back by every GET of the service, against docs/admin-api.md ("no secret is ever stored in or
 * shown from the document").
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'operator-admin-token-breaker11-0123456789';

let gateway: TestGateway;

const api = async (path: string, init: RequestInit = {}) => {
  const answer = await fetch(`${gateway.url}/api/v1/tenants/acme${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
  });
  return { status: answer.status, text: await answer.text() };
};

beforeAll(async () => {
  gateway = await startTestGateway(
    {
      adminToken,
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9' }],
          toolsets: [{ id: 'reader', tools: ['fake_*'] }],
        },
      ],
    },
    { live: { liveCheckMs: 200 } },
  );
}, 120_000);

afterAll(async () => {
  await gateway?.close();
});

describe('credential values of catalogue services written through the admin API', () => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    [
      'stripe',
      { apiKey: 'sk_live_51BREAKER11literalStripeKey0000' },
      'sk_live_51BREAKER11literalStripeKey0000',
      'apiKey',
    ],
    ['notion', { token: 'secret_BREAKER11literalNotionToken000' }, 'secret_BREAKER11literalNotionToken000', 'token'],
    [
      'twilio',
      {
        username: 'AC0123456789abcdef0123456789abcdef',
        password: 'BREAKER11-literal-twilio-auth-token',
        variables: { AccountSid: 'AC0123456789abcdef0123456789abcdef' },
      },
      'BREAKER11-literal-twilio-auth-token',
      'password',
    ],
  ];
  for (const [provider, credential, secret, field] of cases) {
    it(`refuses a literal ${provider} ${field} (only \${env:NAME} references are stored) and never shows one`, async () => {
      const written = await api('/services', {
        method: 'POST',
        body: JSON.stringify({ id: `${provider}-literal`, provider, ...credential }),
      });
      const shown = await api(`/services/${provider}-literal`);
      expect.soft(shown.text, 'GET shows the stored credential').not.toContain(secret);
      expect.soft(written.text, 'the write echoes the credential').not.toContain(secret);
      expect(written.status, written.text).toBe(422);
      expect(written.text).toContain(`"field":"${field}"`);
    });
  }
});
