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
  /** A gateway whose service `fake` is shared or per user, alice's key, and a connection granted items:read. */
  async function refusedDelete(shared: boolean) {
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
              shared,
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
    await seedOAuthConnection(under.adapters, as, {
      tenantId: 'acme',
      id: 'c-fake',
      service: 'fake',
      subject: shared ? 'shared' : 'alice',
      accessExpiresAt: under.clock.now() + 3_600_000,
      scopes: ['items:read'],
    });
    const caller = await under.callerOf('agent', key);
    const outcome = await under.gateway.callTool(caller, 'fake_deleteItem', { itemId: 'one' }, 'r1');
    if (outcome.ok) throw new Error('the delete was allowed without items:write');
    expect(outcome.error.code).toBe('scope_missing');
    return { under, error: outcome.error };
  }

  it('a shared service gets no step-up link from a call, only a refusal naming the operator (finding shared_connection_takeover_by_step_up: a link for the shared connection let any caller replace it with their own account; before that it was for the caller, whose connection no call uses)', async () => {
    const { under, error } = await refusedDelete(true);
    try {
      expect(error.details['stepUpUrl']).toBeUndefined();
      expect(error.details['reason']).toBe('shared');
      expect(error.message).toContain('only an operator may connect again with more scopes');
    } finally {
      await under.close();
    }
  });

  it("a per-user service's step-up link is for the caller's own connection, asking its grant plus the missing scope", async () => {
    const { under, error } = await refusedDelete(false);
    try {
      const url = String(error.details['stepUpUrl']);
      const linkId = decodeURIComponent(/\/connect\/([^?]+)\?/.exec(url)?.[1] ?? '');
      const link = await under.adapters.store.connectFlow.getLink('acme', linkId);
      expect(link?.subject).toBe('alice');
      expect([...(link?.scopes ?? [])].sort()).toEqual(['items:read', 'items:write']);
    } finally {
      await under.close();
    }
  });
});
