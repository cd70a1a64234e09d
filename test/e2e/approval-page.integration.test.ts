import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * The approval page in a real browser (CP-02): Debian's Chromium through playwright-core opens the approval link a
 * tool result carried, and a person clicks the buttons. Also a page of another site posting the form in Chromium.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_approval_page_0123456789abcdef';
const adminToken = 'approval-page-admin-token-0123456789';

let api: FakeApi;
let gateway: TestGateway;
let chromium: RunningChromium;
let evil: Server;
let evilUrl: string;
let evilPage = '';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface ToolAnswer {
  readonly text: string;
  readonly error?: { code?: string; details?: Record<string, unknown> };
}

async function deleteItem(itemId: string): Promise<ToolAnswer> {
  const response = await fetch(`${gateway.url}/mcp/acme/all`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'open_deleteItem', arguments: { itemId } },
    }),
  });
  const text = await response.text();
  const body = JSON.parse(text) as { result: { structuredContent?: { error?: ToolAnswer['error'] } } };
  return { text, ...(body.result.structuredContent?.error ? { error: body.result.structuredContent.error } : {}) };
}

/** The approval link of a new request for deleting `itemId` (the agent's first call). */
async function approvalLink(itemId: string): Promise<{ url: string; id: string }> {
  const answer = await deleteItem(itemId);
  expect(answer.error?.code).toBe('approval_required');
  return { url: String(answer.error?.details?.['approvalUrl']), id: String(answer.error?.details?.['approvalId']) };
}

async function statusOf(id: string): Promise<string | undefined> {
  const response = await fetch(`${gateway.url}/api/v1/tenants/acme/approvals`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  const { approvals } = (await response.json()) as { approvals: { id: string; status: string }[] };
  return approvals.find((a) => a.id === id)?.status;
}

const missing = chromiumMissing();

describe.skipIf(missing !== undefined)('the approval page in Chromium', () => {
  beforeAll(async () => {
    api = await startFakeApi();
    const port = await freePort();
    gateway = await startTestGateway({
      listen: `127.0.0.1:${port}`,
      publicUrl: `http://127.0.0.1:${port}`,
      adminToken,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'open', openapi: description, baseUrl: `${api.url}/v1`, auth: { type: 'none' } }],
          toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'destructive' }],
          clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
        },
      ],
    });
    // Another site: `localhost` is a different site from `127.0.0.1` for the browser (Sec-Fetch-Site: cross-site).
    evil = createServer((req, res) => {
      const noReferrer = req.url?.includes('no-referrer') === true;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        ...(noReferrer ? { 'referrer-policy': 'no-referrer' } : {}),
      });
      res.end(evilPage);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}`;
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await new Promise((resolve) => evil?.close(resolve));
    await gateway?.close();
    await api?.close();
  });

  it('CP-02 (issue 10 item 1) a person approves in Chromium by clicking the button; the call then runs once', async () => {
    const { url, id } = await approvalLink('b1');
    const context = await chromium.newContext();
    const page = await context.newPage();
    expect((await page.goto(url))?.status()).toBe(200);
    await chromium.screenshot(page, 'approval-page');
    const [decided] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Approve this call once' }).click(),
    ]);
    expect(decided.status()).toBe(200);
    await chromium.screenshot(page, 'approval-page-approved');
    await expect.poll(() => statusOf(id)).toBe('approved');
    await context.close();

    const before = api.received.length;
    expect((await deleteItem('b1')).error).toBeUndefined();
    expect(api.received.slice(before).filter((r) => r.method === 'DELETE')).toHaveLength(1);
    expect((await deleteItem('b1')).error?.code).toBe('approval_required');
  });

  it('CP-02 (issue 10 item 1) a person denies in Chromium; the agent is told so', async () => {
    const { url, id } = await approvalLink('b2');
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(url);
    const [decided] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Deny' }).click(),
    ]);
    expect(decided.status()).toBe(200);
    expect(await statusOf(id)).toBe('denied');
    await context.close();
    expect((await deleteItem('b2')).error?.code).toBe('approval_denied');
  });

  for (const variant of ['with its origin', 'with Origin: null (no-referrer)'] as const) {
    it(`CP-02 (issue 10 item 1) a page of another site posting the approval form in Chromium is refused (${variant})`, async () => {
      const { url, id } = await approvalLink(`b3-${variant.length}`);
      const link = new URL(url);
      // The approver has the page open (its cookie is in this browser); the other site posts the same form.
      const context = await chromium.newContext();
      const page = await context.newPage();
      await page.goto(url);
      const csrf = await page.locator('input[name="csrf"]').getAttribute('value');
      const field = (name: string, value: string) => `<input type="hidden" name="${name}" value="${value}">`;
      evilPage = `<!doctype html><form method="post" action="${link.origin}${link.pathname}">${field('tenant', 'acme')}${field('sig', link.searchParams.get('sig') ?? '')}${field('csrf', csrf ?? '')}<button name="decision" value="approve">Win a prize</button></form>`;
      const attacker = await context.newPage();
      await attacker.goto(`${evilUrl}/${variant.includes('null') ? 'no-referrer' : 'plain'}`);
      const [refused] = await Promise.all([
        attacker.waitForResponse((r) => r.request().method() === 'POST'),
        attacker.getByRole('button', { name: 'Win a prize' }).click(),
      ]);
      expect(refused.status()).toBe(403);
      // Refused by the origin check itself (before the CSRF cookie, which SameSite=Strict also keeps home).
      expect(await refused.json()).toMatchObject({ code: 'forbidden_origin', details: { header: 'origin' } });
      expect(await statusOf(id)).toBe('pending');
      await context.close();
    });
  }
});
