import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectUrlElicitingClient, type Elicited } from '../support/connect-mcp-clients.ts';
import { freePort } from '../support/free-port.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 14, approvals as protocol flows, for clients that declare URL-mode elicitation (and not tasks), with the
 * official 2.x SDK client: on 2026-07-28 the call answers `input_required` with an `elicitation/create` (mode
 * `url`) to the approval page and the SDK's retry runs it once a person approved; on 2025-11-25 it is the `-32042`
 * error of the connect links. The client's answer to an elicitation never approves anything.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const agentKey = 'gatehouse_sk_approval_elicit_agent_0123456789';
const adminToken = 'approval-elicit-admin-token-0123456789';

let api: FakeApi;
let gateway: TestGateway;

/** A 2026-07-28 client declaring URL elicitation, whose user does `onElicit` when asked (and answers `action`). */
function modernClient(
  onElicit: (request: Elicited) => Promise<'accept' | 'decline' | 'cancel'>,
  maxRounds = 3,
): Promise<Client> {
  return connectUrlElicitingClient(`${gateway.url}/mcp/acme/all`, agentKey, onElicit, {
    maxRounds,
    name: 'approval-elicitation-test',
  });
}

/** A client that declares neither tasks nor elicitation (2025 era); a call can still declare URL elicitation in its `_meta`. */
async function legacyClient(): Promise<Client> {
  const client = new Client({ name: 'approval-elicitation-legacy', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/acme/all`), {
      requestInit: { headers: { authorization: `Bearer ${agentKey}` } },
    }),
  );
  return client;
}

async function admin(method: string, path: string): Promise<Response> {
  return fetch(`${gateway.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${adminToken}` } });
}

/** The pending approval request for deleting `itemId` (the arguments an approver sees). */
async function pendingFor(itemId: string): Promise<{ id: string; status: string; decidedBy: string | null }> {
  const response = await admin('GET', '/tenants/acme/approvals');
  const { approvals } = (await response.json()) as {
    approvals: { id: string; status: string; decidedBy: string | null; arguments: { itemId?: string } }[];
  };
  const found = approvals.find((a) => a.arguments.itemId === itemId);
  if (found === undefined) throw new Error(`no approval for ${itemId}`);
  return found;
}

const deletes = (itemId: string) =>
  api.received.filter((r) => r.method === 'DELETE' && r.path.endsWith(`/items/${itemId}`)).length;

describe('approvals through URL elicitation', () => {
  beforeAll(async () => {
    api = await startFakeApi();
    const port = await freePort();
    gateway = await startTestGateway(
      {
        adminToken,
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        tenants: [
          {
            id: 'acme',
            services: [{ id: 'open', openapi: description, baseUrl: `${api.url}/v1`, auth: { type: 'none' } }],
            toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'destructive' }],
            clientKeys: [{ name: 'agent', key: agentKey, toolsets: ['all'], subject: 'alice' }],
          },
        ],
      },
      { port },
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await api?.close();
  });

  it('2026-07-28: the client is asked to open the approval page; a person approves; the retry runs the call once', async () => {
    const asked: Elicited[] = [];
    const client = await modernClient(async (request) => {
      asked.push(request);
      // The person: an approver decides through the admin API while the user has the page open.
      const pending = await pendingFor('e1');
      expect((await admin('POST', `/tenants/acme/approvals/${pending.id}/approve`)).status).toBe(200);
      return 'accept';
    });
    try {
      const result = await client.callTool({ name: 'open_deleteItem', arguments: { itemId: 'e1' } });
      expect(result.isError).toBeFalsy();
      expect(asked).toHaveLength(1);
      expect(asked[0]?.mode).toBe('url');
      expect(asked[0]?.url).toMatch(new RegExp(`^${gateway.url}/approvals/[^?]+\\?tenant=acme&sig=`));
      expect(asked[0]?.message).toMatch(/opening it approves nothing/);
      expect(deletes('e1')).toBe(1);
      expect((await pendingFor('e1')).status).toBe('consumed');
      // Each round is a tools/call of its own with one outcome record: the one that asked, the one that ran.
      await expect
        .poll(async () => {
          const response = await admin('GET', '/tenants/acme/audit?kind=tool_call&tool=open_deleteItem&limit=10');
          const { records } = (await response.json()) as { records: { decision: string; code: string | null }[] };
          return records.map((r) => [r.decision, r.code]);
        })
        .toEqual([
          ['allow', null],
          ['deny', 'approval_required'],
        ]);
    } finally {
      await client.close();
    }
  });

  it('2026-07-28: the agent cannot approve itself: accepting the elicitation without a decision runs nothing', async () => {
    let rounds = 0;
    const client = await modernClient(async () => {
      rounds++;
      return 'accept';
    });
    try {
      await expect(client.callTool({ name: 'open_deleteItem', arguments: { itemId: 'e2' } })).rejects.toThrow(
        /rounds|input/i,
      );
      expect(rounds).toBe(3);
      expect(deletes('e2')).toBe(0);
      expect((await pendingFor('e2')).status).toBe('pending');
    } finally {
      await client.close();
    }
  });

  it('2026-07-28: a declined elicitation withdraws the request (a denial by the client key); the call ends approval_denied', async () => {
    const client = await modernClient(async () => 'decline');
    try {
      const result = await client.callTool({ name: 'open_deleteItem', arguments: { itemId: 'e3' } });
      expect(result.isError).toBe(true);
      expect((result.structuredContent as { error?: unknown } | undefined)?.error).toMatchObject({
        code: 'approval_denied',
      });
      expect(deletes('e3')).toBe(0);
      expect(await pendingFor('e3')).toMatchObject({ status: 'denied', decidedBy: 'client:agent' });
    } finally {
      await client.close();
    }
  });

  it('2025-11-25: a request declaring URL elicitation gets -32042 with the approval page; once approved, the call again runs', async () => {
    const client = await legacyClient();
    const call = () =>
      client.callTool({
        name: 'open_deleteItem',
        arguments: { itemId: 'e4' },
        _meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } },
      });
    try {
      const refused = await call().then(
        () => undefined,
        (error: unknown) => error as { code?: number; data?: { elicitations?: Elicited[] } },
      );
      expect(refused?.code).toBe(-32042);
      expect(refused?.data?.elicitations?.[0]).toMatchObject({ mode: 'url' });
      expect(refused?.data?.elicitations?.[0]?.url).toMatch(/\/approvals\/[^?]+\?tenant=acme&sig=/);
      expect(deletes('e4')).toBe(0);
      expect((await admin('POST', `/tenants/acme/approvals/${(await pendingFor('e4')).id}/approve`)).status).toBe(200);
      const result = await call();
      expect(result.isError).toBeFalsy();
      expect(deletes('e4')).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('a client that declares neither tasks nor URL elicitation keeps today’s approval_required answer', async () => {
    const client = await legacyClient();
    try {
      const result = await client.callTool({ name: 'open_deleteItem', arguments: { itemId: 'e5' } });
      expect(result.isError).toBe(true);
      expect((result.structuredContent as { error?: unknown } | undefined)?.error).toMatchObject({
        code: 'approval_required',
      });
      expect(deletes('e5')).toBe(0);
    } finally {
      await client.close();
    }
  });
});
