import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type GatewayUnderTest,
  jsonResponse,
  openGatewayUnderTest,
} from '../../test/support/open-gateway-under-test.ts';
import { seedOAuthConnection } from '../../test/support/seed-oauth-connection.ts';
import { type FakeRefreshServer, startFakeRefreshServer } from '../../test/support/start-fake-refresh-server.ts';
import { GatehouseError } from '../core/index.ts';
import { createRefreshEngine, createServiceRefreshSender } from '../oauth/index.ts';

/**
 * The `callTool` use case, fast: the real gateway over SQLite in a temporary folder, a fake upstream client and an
 * injected clock (test/support/open-gateway-under-test.ts). Run by `npm run check`.
 */

const description = fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url));
const key = 'gatehouse_sk_call_tool_unit_agent_0123456789';

let under: GatewayUnderTest | undefined;
afterEach(async () => {
  await under?.close();
  under = undefined;
});

function tenantWith(toolset: Record<string, unknown>, service: Record<string, unknown> = {}) {
  return {
    tenants: [
      {
        id: 'acme',
        services: [
          { id: 'fake', openapi: description, baseUrl: 'https://api.example.com', auth: { type: 'none' }, ...service },
        ],
        toolsets: [{ id: 'agent', tools: ['*'], access: 'write', ...toolset }],
        clientKeys: [{ name: 'agent', key, toolsets: ['agent'], subject: 'alice' }],
      },
    ],
  };
}

describe('callTool audit decisions', () => {
  it('a call a person denied is audited as a denial (approval_denied, review: deny set kept by hand)', async () => {
    under = await openGatewayUnderTest(tenantWith({ approval: 'destructive' }));
    const caller = await under.callerOf('agent', key);
    const first = await under.gateway.callTool(caller, 'fake_deleteItem', { itemId: 'x' }, 'r1');
    expect(first.ok ? undefined : first.error.code).toBe('approval_required');
    const approvalId = first.ok ? '' : String(first.error.details['approvalId']);
    await under.gateway.approvals?.decide('acme', approvalId, 'denied', 'bob', 'admin_api');
    const second = await under.gateway.callTool(caller, 'fake_deleteItem', { itemId: 'x' }, 'r2');
    expect(second.ok ? undefined : second.error.code).toBe('approval_denied');
    const records = (await under.outcomes()).filter((r) => r.requestId === 'r2');
    expect(records.map((r) => [r.decision, r.code])).toEqual([['deny', 'approval_denied']]);
    expect(under.upstream.calls).toHaveLength(0);
  });
});

describe('callTool for a call that waits for its approval in a task (issue 14)', () => {
  it('awaitsApproval: the waiting call writes no outcome record; the approved run writes the one record, with the first request id', async () => {
    under = await openGatewayUnderTest(tenantWith({ approval: 'destructive' }));
    const caller = await under.callerOf('agent', key);
    const waiting = await under.gateway.callTool(caller, 'fake_deleteItem', { itemId: 'x' }, 'r1', {
      awaitsApproval: true,
    });
    expect(waiting.ok ? undefined : waiting.error.code).toBe('approval_required');
    expect((await under.outcomes()).filter((r) => r.requestId === 'r1')).toEqual([]);
    const approvalId = waiting.ok ? '' : String(waiting.error.details['approvalId']);
    await under.gateway.approvals?.decide('acme', approvalId, 'approved', 'bob', 'admin_api');
    under.upstream.answer = () => jsonResponse(204, null);
    const ran = await under.gateway.callTool(caller, 'fake_deleteItem', { itemId: 'x' }, 'r1', {
      awaitsApproval: true,
    });
    expect(ran.ok).toBe(true);
    const records = (await under.outcomes()).filter((r) => r.requestId === 'r1');
    expect(records.map((r) => [r.decision, r.code])).toEqual([['allow', null]]);
    expect(under.upstream.calls).toHaveLength(1);
  });

  it('endWith: the call ends with that error after the decide step, nothing upstream, one record naming the tool', async () => {
    under = await openGatewayUnderTest(tenantWith({ approval: 'destructive' }));
    const caller = await under.callerOf('agent', key);
    const error = new GatehouseError('approval_denied', 'expired', { reason: 'expired' });
    const ended = await under.gateway.callTool(caller, 'fake_deleteItem', { itemId: 'x' }, 'r3', { endWith: error });
    expect(ended.ok ? undefined : ended.error).toBe(error);
    const records = (await under.outcomes()).filter((r) => r.requestId === 'r3');
    expect(records.map((r) => [r.decision, r.code, r.tool, r.method])).toEqual([
      ['deny', 'approval_denied', 'fake_deleteItem', 'DELETE'],
    ]);
    expect(under.upstream.calls).toHaveLength(0);
  });
});

/** Makes an over-budget result (a handle) and returns its id. */
async function makeHandle(u: GatewayUnderTest, caller: Awaited<ReturnType<GatewayUnderTest['callerOf']>>) {
  u.upstream.answer = () =>
    jsonResponse(200, { items: Array.from({ length: 400 }, (_, i) => ({ id: `item-${i}`, name: `Item ${i}` })) });
  const listed = await u.gateway.callTool(caller, 'fake_listItems', {}, 'make-handle');
  if (!listed.ok) throw listed.error;
  const handle = (listed.structuredContent as { handle?: string } | undefined)?.handle;
  if (handle === undefined) throw new Error('no handle');
  return handle;
}

describe('limits count every call a key makes', () => {
  it('RL-05 (review finding 4) 40 sequential result meta-tool calls on a 5/min toolset: the 6th and later are rate_limited', async () => {
    under = await openGatewayUnderTest(tenantWith({ results: { budget: 500 }, rateLimit: { perMinute: 5 } }));
    const caller = await under.callerOf('agent', key);
    const handle = await makeHandle(under, caller);
    const codes: string[] = [];
    for (let i = 0; i < 40; i++) {
      const outcome = await under.gateway.callTool(
        caller,
        'gatehouse_result_page',
        { handle, offset: i, limit: 1 },
        `q${i}`,
      );
      codes.push(outcome.ok ? 'ok' : outcome.error.code);
    }
    // The handle's own call took the first of the 5.
    expect(codes.filter((c) => c === 'ok')).toHaveLength(4);
    expect(codes.slice(4).every((c) => c === 'rate_limited')).toBe(true);
    const denied = (await under.outcomes()).filter((r) => r.code === 'rate_limited');
    expect(denied).toHaveLength(36);
    expect(denied.every((r) => r.decision === 'deny' && r.tool === 'gatehouse_result_page')).toBe(true);
  });

  it('RL-05 (review finding 4) 10 parallel result meta-tool calls with 1 in flight per key: the others are refused', async () => {
    under = await openGatewayUnderTest(
      tenantWith({ results: { budget: 500 }, limits: { concurrency: { perKey: 1 } } }),
    );
    const caller = await under.callerOf('agent', key);
    const handle = await makeHandle(under, caller);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        under!.gateway.callTool(caller, 'gatehouse_result_page', { handle, offset: i, limit: 1 }, `p${i}`),
      ),
    );
    const refused = outcomes.filter((o) => !o.ok && o.error.code === 'rate_limited');
    expect(outcomes.filter((o) => o.ok).length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const o of refused) expect(o.ok ? undefined : o.error.details['limit']).toBe('concurrency.perKey');
  });
});

describe('one refresh-and-retry after an upstream 401', () => {
  let as: FakeRefreshServer | undefined;
  afterEach(async () => {
    await as?.close();
    as = undefined;
  });

  it("OA-16 / RF-04 (review: retry passed the stored version) a sibling's refresh between send and 401 is used, not redeemed again", async () => {
    as = await startFakeRefreshServer();
    const fakeAs = as;
    under = await openGatewayUnderTest(
      tenantWith(
        { access: 'read' },
        { auth: { type: 'oauth2', tokenUrl: as.tokenUrl, clientId: as.clientId, clientSecret: as.clientSecret } },
      ),
    );
    const u = under;
    await seedOAuthConnection(u.adapters, as, {
      tenantId: 'acme',
      id: 'c-alice',
      service: 'fake',
      subject: 'alice',
      accessExpiresAt: u.clock.now() + 3_600_000,
    });
    // Another process over the same store: it refreshes the connection while our call is on the wire.
    const auth = u.config.tenants[0]?.services[0]?.auth;
    if (auth?.type !== 'oauth2') throw new Error('oauth2 service expected');
    const sibling = createRefreshEngine({
      store: u.adapters.store,
      vault: u.adapters.vault,
      clock: u.clock,
      sendRefresh: createServiceRefreshSender({
        authOf: () => ({ ...auth, clientId: auth.clientId ?? '' }),
        readClientSecret: async () => fakeAs.clientSecret,
      }),
    });
    let siblingToken = '';
    u.upstream.answer = async (call, index) => {
      if (index === 0) {
        siblingToken = (await sibling.ensureFresh('acme', 'c-alice', { force: true })).accessToken;
        return jsonResponse(401, { error: 'expired' });
      }
      return call.headers['authorization'] === `Bearer ${siblingToken}`
        ? jsonResponse(200, { id: 'one' })
        : jsonResponse(401, { error: 'unknown token' });
    };
    const caller = await u.callerOf('agent', key);
    const outcome = await u.gateway.callTool(caller, 'fake_getItem', { itemId: 'one' }, 'r1');
    expect(outcome.ok ? 'ok' : outcome.error.code).toBe('ok');
    expect(u.upstream.calls).toHaveLength(2);
    // One redemption in all: the sibling's. The gateway took the sibling's token instead of redeeming it again.
    expect(as.tokenRequests()).toBe(1);
    expect([...as.redemptions().values()].every((n) => n <= 1)).toBe(true);
  });
});

describe('tool overlays in a call', () => {
  // The projections run in the query workers; at their production priority (nice 19) a worker beside a busy test
  // suite took over 20 s to start. Their priority is not what these tests are about.
  const workersAtNormalPriority = { deps: () => ({ queryWorkerNice: 0 }) };

  it('the renamed tool sends its default argument and answers its projection of the result (in the query workers)', async () => {
    under = await openGatewayUnderTest(
      {
        ...tenantWith(
          {},
          {
            overlays: {
              listItems: { name: 'list', defaults: { limit: 5 }, projection: 'items[].id', safety: 'safe' },
            },
          },
        ),
        // A loaded two-core machine can take longer than the default second; over it the result would come back whole.
        resultHandles: { query: { timeoutSeconds: 20 } },
      },
      workersAtNormalPriority,
    );
    under.upstream.answer = () =>
      jsonResponse(200, {
        items: [
          { id: 'a', name: 'A', secretish: 'x' },
          { id: 'b', name: 'B' },
        ],
      });
    const caller = await under.callerOf('agent', key);
    const old = await under.gateway.callTool(caller, 'fake_listItems', {}, 'o1');
    expect(old.ok ? undefined : old.error.code).toBe('tool_not_found');
    const outcome = await under.gateway.callTool(caller, 'fake_list', {}, 'o2');
    if (!outcome.ok) throw outcome.error;
    expect(outcome.structuredContent).toEqual({ result: ['a', 'b'] });
    expect(outcome.text).toBe('["a","b"]');
    expect(new URL(under.upstream.calls.at(-1)?.url ?? 'http://x').searchParams.get('limit')).toBe('5');
    const given = await under.gateway.callTool(caller, 'fake_list', { limit: 2 }, 'o3');
    expect(given.ok).toBe(true);
    expect(new URL(under.upstream.calls.at(-1)?.url ?? 'http://x').searchParams.get('limit')).toBe('2');
  });

  it('a projection over the query budget leaves the result whole (never an error for the model)', async () => {
    under = await openGatewayUnderTest(
      {
        ...tenantWith({}, { overlays: { listItems: { projection: 'items[].{id: id, name: name}' } } }),
        resultHandles: { query: { maxOutputBytes: 1_024 } },
      },
      workersAtNormalPriority,
    );
    const items = Array.from({ length: 100 }, (_, i) => ({ id: `item-${i}`, name: `Item number ${i}` }));
    under.upstream.answer = () => jsonResponse(200, { items });
    const caller = await under.callerOf('agent', key);
    const outcome = await under.gateway.callTool(caller, 'fake_listItems', {}, 'p1');
    if (!outcome.ok) throw outcome.error;
    expect(outcome.structuredContent).toEqual({ items });
  });
});
