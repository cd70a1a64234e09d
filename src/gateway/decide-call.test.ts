import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGatewayUnderTest } from '../../test/support/open-gateway-under-test.ts';
import { seedOAuthConnection } from '../../test/support/seed-oauth-connection.ts';
import { type FakeRefreshServer, startFakeRefreshServer } from '../../test/support/start-fake-refresh-server.ts';

const scopedApi = fileURLToPath(new URL('../../test/fixtures/scoped-api.openapi.yaml', import.meta.url));
const key = 'gatehouse_sk_decide_call_shared_agent_0123456789';

let as: FakeRefreshServer;
beforeAll(async () => {
  as = await startFakeRefreshServer();
});
afterAll(async () => {
  await as?.close();
});

describe('decideCall() step-up links', () => {
  it('the step-up link of a shared service is for its shared connection, asking for its grant plus the missing scope (finding: it was for the caller, whose connection no call uses)', async () => {
    const under = await openGatewayUnderTest({
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [
            {
              id: 'fake',
              openapi: scopedApi,
              baseUrl: 'https://api.example.com',
              shared: true,
              auth: {
                type: 'oauth2',
                authorizationUrl: `${as.url}/authorize`,
                tokenUrl: as.tokenUrl,
                clientId: as.clientId,
                clientSecret: as.clientSecret,
                scopes: ['items:read', 'items:write'],
              },
            },
          ],
          toolsets: [{ id: 'agent', tools: ['*'], access: 'write', approval: 'none' }],
          clientKeys: [{ name: 'agent', key, toolsets: ['agent'], subject: 'alice' }],
        },
      ],
    });
    try {
      await seedOAuthConnection(under.adapters, as, {
        tenantId: 'acme',
        id: 'c-shared',
        service: 'fake',
        subject: 'shared',
        accessExpiresAt: under.clock.now() + 3_600_000,
        scopes: ['items:read'],
      });
      const caller = await under.callerOf('agent', key);
      const outcome = await under.gateway.callTool(caller, 'fake_deleteItem', { itemId: 'one' }, 'r1');
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error.code).toBe('scope_missing');
      const url = String(outcome.error.details['stepUpUrl']);
      const linkId = decodeURIComponent(/\/connect\/([^?]+)\?/.exec(url)?.[1] ?? '');
      const link = await under.adapters.store.connectFlow.getLink('acme', linkId);
      expect(link?.subject).toBe('shared');
      expect([...(link?.scopes ?? [])].sort()).toEqual(['items:read', 'items:write']);
    } finally {
      await under.close();
    }
  });
});
