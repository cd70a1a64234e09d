import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/start-webhook-receiver.ts';

/**
 * `approvals.linkInResult: false`: the approval link never reaches the model (an agent with a browsing tool
 * could otherwise open it); approvers get it by webhook, and the admin API decides by id.
 */

const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_approval_link_0123456789abcdef';
const adminToken = 'approval-link-admin-token-0123456789';
const webhookSecret = 'approval-link-webhook-secret';

let api: FakeApi;
let gateway: TestGateway;
let hook: WebhookReceiver;
const delivered = (): { approvalUrl?: string; approval?: { id?: string } }[] =>
  hook.received.map((h) => JSON.parse(h.body));

beforeAll(async () => {
  api = await startFakeApi();
  hook = await startWebhookReceiver();
  gateway = await startTestGateway({
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    approvals: {
      linkInResult: false,
      webhookUrl: hook.url,
      webhookSecret,
    },
    tenants: [
      {
        id: 'acme',
        services: [{ id: 'open', openapi: description, baseUrl: `${api.url}/v1`, auth: { type: 'none' } }],
        toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'destructive' }],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await api?.close();
  await hook?.close();
});

async function deleteItem(): Promise<{ text: string; error?: { code?: string; details?: Record<string, unknown> } }> {
  const response = await fetch(`${gateway.url}/mcp/acme/all`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'open_deleteItem', arguments: { itemId: 'd1' } },
    }),
  });
  const text = await response.text();
  const body = JSON.parse(text) as {
    result: { structuredContent?: { error?: { code?: string; details?: Record<string, unknown> } } };
  };
  return { text, ...(body.result.structuredContent?.error ? { error: body.result.structuredContent.error } : {}) };
}

describe('approvals.linkInResult: false', () => {
  it('the model sees the approval id, never the link; approvers get the link; the admin API releases the call', async () => {
    const before = api.received.length;
    const refused = await deleteItem();
    expect(refused.error?.code).toBe('approval_required');
    const id = refused.error?.details?.['approvalId'];
    expect(typeof id).toBe('string');
    expect(refused.error?.details).not.toHaveProperty('approvalUrl');
    expect(refused.text).not.toContain('/approvals/');
    expect(refused.text).not.toContain('sig=');
    expect(api.received.length).toBe(before);

    await expect.poll(() => delivered().find((d) => d.approval?.id === id)?.approvalUrl).toContain(`/approvals/${id}`);

    const approved = await fetch(`${gateway.url}/api/v1/tenants/acme/approvals/${id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'bob' }),
    });
    expect(approved.status).toBe(200);
    const ran = await deleteItem();
    expect(ran.error).toBeUndefined();
    expect(api.received.slice(before).filter((r) => r.method === 'DELETE')).toHaveLength(1);
  });
});
