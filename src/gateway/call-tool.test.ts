import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayUnderTest, openGatewayUnderTest } from '../../test/support/open-gateway-under-test.ts';

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
