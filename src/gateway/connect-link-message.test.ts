import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createFakeUpstream,
  type GatewayUnderTest,
  openGatewayUnderTest,
} from '../../test/support/open-gateway-under-test.ts';
import { type FakeRefreshServer, startFakeRefreshServer } from '../../test/support/start-fake-refresh-server.ts';

/**
 * The message a call without a connection answers with tells the agent whom to ask to open the link: the person
 * `decideLinkOpener` lets open it, never "the user" when an owner or admin must (a key's subject is no user's).
 */

const fakeApi = fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url));
const key = 'gatehouse_sk_connect_link_message_agent_0123';

let as: FakeRefreshServer;
beforeAll(async () => {
  as = await startFakeRefreshServer();
});
afterAll(async () => {
  await as?.close();
});
let under: GatewayUnderTest | undefined;
afterEach(async () => {
  await under?.close();
  under = undefined;
});

async function messageOf(linkAloneConnects: boolean): Promise<string> {
  under = await openGatewayUnderTest(
    {
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      connectLinks: { unsafeLinkAloneConnects: linkAloneConnects },
      tenants: [
        {
          id: 'acme',
          services: [
            {
              id: 'fake',
              openapi: fakeApi,
              baseUrl: 'https://api.example.com',
              auth: {
                type: 'oauth2',
                authorizationUrl: `${as.url}/authorize`,
                tokenUrl: as.tokenUrl,
                clientId: as.clientId,
                clientSecret: as.clientSecret,
              },
            },
          ],
          toolsets: [{ id: 'agent', tools: ['*'], access: 'read' }],
          clientKeys: [{ name: 'agent', key, toolsets: ['agent'], subject: 'kate-agent' }],
        },
      ],
    },
    { upstream: createFakeUpstream() },
  );
  const outcome = await under.gateway.callTool(
    await under.callerOf('agent', key),
    'fake_getItem',
    { itemId: 'one' },
    'r',
  );
  if (outcome.ok) throw new Error('expected connection_required');
  expect(outcome.error.code).toBe('connection_required');
  return outcome.error.message;
}

describe('the connect link message names who may open the link', () => {
  it("a key's subject: an owner or admin of the tenant, who confirms the subject", async () => {
    const message = await messageOf(false);
    expect(message).toContain(
      'Ask an owner or admin of tenant acme (signed in to the gateway; they confirm that the connection serves kate-agent) to open http',
    );
    expect(message).not.toContain('Ask the user');
  });

  it('with connectLinks.unsafeLinkAloneConnects: the user, as before', async () => {
    expect(await messageOf(true)).toContain('Ask the user to open http');
  });
});
