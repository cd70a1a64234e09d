import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentApproves } from '../support/agent-approves.ts';
import { freePort } from '../support/free-port.ts';
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
const approverToken = 'approval-page-acme-approver-token-0123456789';

let api: FakeApi;
let gateway: TestGateway;
let chromium: RunningChromium;
let evil: Server;
let evilUrl: string;
let evilPage = '';

interface ToolAnswer {
  readonly text: string;
  readonly error?: { code?: string; details?: Record<string, unknown> };
}

async function deleteItem(itemId: string, on: TestGateway = gateway): Promise<ToolAnswer> {
  const response = await fetch(`${on.url}/mcp/acme/all`, {
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
async function approvalLink(itemId: string, on: TestGateway = gateway): Promise<{ url: string; id: string }> {
  const answer = await deleteItem(itemId, on);
  expect(answer.error?.code).toBe('approval_required');
  return { url: String(answer.error?.details?.['approvalUrl']), id: String(answer.error?.details?.['approvalId']) };
}

async function statusOf(id: string, on: TestGateway = gateway): Promise<string | undefined> {
  const response = await fetch(`${on.url}/api/v1/tenants/acme/approvals`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  const { approvals } = (await response.json()) as { approvals: { id: string; status: string }[] };
  return approvals.find((a) => a.id === id)?.status;
}

/** The gateway configuration of these tests, with `approvals` settings merged in. */
function gatewayConfig(port: number, approvals: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listen: `127.0.0.1:${port}`,
    publicUrl: `http://127.0.0.1:${port}`,
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    approvals,
    tenants: [
      {
        id: 'acme',
        approverToken,
        services: [{ id: 'open', openapi: description, baseUrl: `${api.url}/v1`, auth: { type: 'none' } }],
        toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'destructive' }],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
      },
    ],
  };
}

describe('approvals need an approver sign-in by default (review finding 7)', () => {
  beforeAll(async () => {
    api = await startFakeApi();
    gateway = await startTestGateway(gatewayConfig(await freePort()));
  });

  afterAll(async () => {
    await gateway?.close();
    await api?.close();
  });

  it('17.7 (review finding 7) the agent loads the page, takes its cookie and CSRF token and posts approve: refused, nothing runs', async () => {
    const { url, id } = await approvalLink('a1');
    expect(await agentApproves(url)).toBe(401);
    expect(await agentApproves(url, { approverToken: clientKey })).toBe(401);
    expect(await agentApproves(url, { approverToken: `${approverToken}x` })).toBe(401);
    expect(await statusOf(id)).toBe('pending');
    const before = api.received.length;
    expect((await deleteItem('a1')).error?.code).toBe('approval_required');
    expect(api.received.length).toBe(before);
  });

  it("17.7 (review finding 7) the same post with the tenant's approver token or the admin token decides", async () => {
    const first = await approvalLink('a2');
    expect(await agentApproves(first.url, { approverToken })).toBe(200);
    expect(await statusOf(first.id)).toBe('approved');
    const second = await approvalLink('a3');
    expect(await agentApproves(second.url, { approverToken: adminToken })).toBe(200);
    expect(await statusOf(second.id)).toBe('approved');
  });

  it('17.7 (review finding 7) the opt-out approvals.unsafeLinkAloneApproves: true restores the link-alone approval', async () => {
    const unsafe = await startTestGateway(gatewayConfig(await freePort(), { unsafeLinkAloneApproves: true }));
    try {
      const { url, id } = await approvalLink('a4', unsafe);
      expect(await agentApproves(url)).toBe(200);
      expect(await statusOf(id, unsafe)).toBe('approved');
    } finally {
      await unsafe.close();
    }
  });
});

const missing = chromiumMissing();

describe.skipIf(missing !== undefined)('the approval page in Chromium', () => {
  beforeAll(async () => {
    api = await startFakeApi();
    gateway = await startTestGateway(gatewayConfig(await freePort()));
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
    await page.getByLabel('Approver token').fill(adminToken);
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
    await page.getByLabel('Approver token').fill(approverToken);
    const [decided] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Deny' }).click(),
    ]);
    expect(decided.status()).toBe(200);
    expect(await statusOf(id)).toBe('denied');
    expect((await deleteItem('b2')).error?.code).toBe('approval_denied');

    // Signed in: the next request of this tenant in the same browser needs no token (a short-lived session).
    const next = await approvalLink('b2-next');
    await page.goto(next.url);
    expect(await page.getByLabel('Approver token').count()).toBe(0);
    await chromium.screenshot(page, 'approval-page-signed-in');
    const [again] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Approve this call once' }).click(),
    ]);
    expect(again.status()).toBe(200);
    expect(await statusOf(next.id)).toBe('approved');
    await context.close();
  });

  it('17.7 (review finding 7) a wrong token typed on the page is refused with the form shown again', async () => {
    const { url, id } = await approvalLink('b4');
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.getByLabel('Approver token').fill(clientKey);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Approve this call once' }).click(),
    ]);
    expect(refused.status()).toBe(401);
    await chromium.screenshot(page, 'approval-page-wrong-token');
    expect(await page.getByLabel('Approver token').count()).toBe(1);
    expect(await statusOf(id)).toBe('pending');
    await context.close();
  });

  it('CP-04 (review finding 8d) bidi and other invisible characters in the arguments are shown as visible marks', async () => {
    const sneaky = 'report\u202Efdp.exe\u2066\u200B\u0085';
    const answer = await deleteItem(sneaky);
    const url = String(answer.error?.details?.['approvalUrl']);
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await chromium.screenshot(page, 'approval-page-bidi');
    const html = await page.content();
    for (const ch of ['\u202E', '\u2066', '\u200B', '\u0085']) expect(html).not.toContain(ch);
    const shown = await page.locator('pre').textContent();
    for (const mark of ['U+202E', 'U+2066', 'U+200B', 'U+0085']) expect(shown ?? '').toContain(mark);
    await context.close();
  });

  for (const variant of ['with its origin', 'with Origin: null (no-referrer)'] as const) {
    it(`CP-02 (issue 10 item 1) a page of another site posting the approval form in Chromium is refused (${variant})`, async () => {
      // The approver signs in on one request (the session cookie is now in this browser) and opens a second one,
      // which a page of another site then posts in the same browser.
      const first = await approvalLink(`b3-${variant.length}`);
      const context = await chromium.newContext();
      const page = await context.newPage();
      await page.goto(first.url);
      await page.getByLabel('Approver token').fill(approverToken);
      await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Approve this call once' }).click(),
      ]);
      const { url, id } = await approvalLink(`b3-second-${variant.length}`);
      const link = new URL(url);
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
      // Refused by the origin check itself (before the CSRF cookie, which SameSite=Strict also keeps home), with a
      // page the person reads (cross_site_post_shows_json).
      expect(refused.headers()['content-type']).toMatch(/^text\/html/);
      expect(await refused.text()).toContain('Origin is not allowed');
      expect(await statusOf(id)).toBe('pending');
      await context.close();
    });
  }
});
