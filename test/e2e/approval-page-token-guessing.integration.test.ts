import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Review break of finding 7 (CP-02): with only its own approval link, an agent posted 300 wrong approver tokens (the
 * tenant's `approverToken` or the admin token) in about 1-2 s, all answered 401, none throttled or audited, and the
 * right admin token then decided. Wrong guesses are now limited per approval and per tenant (429 with Retry-After),
 * an approval is locked against further token attempts, and refusals are audited (capped like admin denials).
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_token_guessing_0123456789abcdef';
const adminToken = 'token-guessing-admin-token-0123456789abcdef';
const approverToken = 'token-guessing-approver-token-0123456789abcdef';
const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];

let api: FakeApi;
let dir: string;

beforeAll(async () => {
  api = await startFakeApi();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-approval-guessing-'));
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(tenant: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    ...extra,
    tenants: [
      {
        id: tenant,
        approverToken,
        services: [{ id: 'open', openapi: description, baseUrl: `${api.url}/v1`, auth: { type: 'none' } }],
        toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'destructive' }],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
      },
    ],
  };
}

/** The agent's own approval link for deleting `itemId`, pointed at `on` (publicUrl is not the test port). */
async function approvalLink(on: TestGateway, tenant: string, itemId: string): Promise<{ link: string; id: string }> {
  const response = await fetch(`${on.url}/mcp/${tenant}/all`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'open_deleteItem', arguments: { itemId } },
    }),
  });
  const body = (await response.json()) as {
    result: { structuredContent: { error: { code: string; details: { approvalUrl: string; approvalId: string } } } };
  };
  expect(body.result.structuredContent.error.code).toBe('approval_required');
  const link = new URL(body.result.structuredContent.error.details.approvalUrl);
  return {
    link: `${on.url}${link.pathname}${link.search}`,
    id: body.result.structuredContent.error.details.approvalId,
  };
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly session: string | undefined;
}

/** What the agent can do with the link: load the page (cookie, CSRF token) and post a decision with a token. */
async function post(link: string, token: string, session = ''): Promise<Answer> {
  const page = await fetch(link, { headers: session === '' ? {} : { cookie: session } });
  const csrfCookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const url = new URL(link);
  const answer = await fetch(`${url.origin}${url.pathname}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: [csrfCookie, session].filter((c) => c !== '').join('; '),
      origin: url.origin,
    },
    body: new URLSearchParams({
      tenant: url.searchParams.get('tenant') ?? '',
      sig: url.searchParams.get('sig') ?? '',
      csrf,
      decision: 'approve',
      ...(token === '' ? {} : { approverToken: token }),
    }).toString(),
  });
  await answer.body?.cancel();
  const session2 = answer.headers
    .getSetCookie()
    .find((c) => c.startsWith('gatehouse_approver_'))
    ?.split(';')[0];
  return { status: answer.status, retryAfter: answer.headers.get('retry-after'), session: session2 };
}

async function securityEvents(on: TestGateway, tenant: string, event: string) {
  const response = await fetch(`${on.url}/api/v1/tenants/${tenant}/audit?limit=1000`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  const { records } = (await response.json()) as { records: Record<string, unknown>[] };
  return records.filter((r) => r['event'] === event);
}

async function statusOf(on: TestGateway, tenant: string, id: string): Promise<string | undefined> {
  const response = await fetch(`${on.url}/api/v1/tenants/${tenant}/approvals`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  const { approvals } = (await response.json()) as { approvals: { id: string; status: string }[] };
  return approvals.find((a) => a.id === id)?.status;
}

describe('approval page token guessing (one process)', () => {
  let gateway: TestGateway;
  const tenant = 'acme';

  beforeAll(async () => {
    gateway = await startTestGateway(config(tenant), { store: `sqlite:${join(dir, 'one.db')}` });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('CP-02 (review break of finding 7) 300 wrong approver/admin-token guesses on one approval: 429 with Retry-After after 5, audited, and the right admin token no longer decides it', async () => {
    // An approver signs in on another request first (a session cookie): the lockout must not shut them out.
    const other = await approvalLink(gateway, tenant, 'signed-in');
    const signIn = await post(other.link, approverToken);
    expect(signIn.status).toBe(200);
    expect(signIn.session).toBeDefined();

    const { link, id } = await approvalLink(gateway, tenant, 'attacked');
    const statuses: number[] = [];
    const retryAfter = new Set<string | null>();
    for (let i = 0; i < 300; i++) {
      const answer = await post(link, `guess-of-the-admin-token-${i}`);
      statuses.push(answer.status);
      if (answer.status === 429) retryAfter.add(answer.retryAfter);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    for (const value of retryAfter) expect(Number(value)).toBeGreaterThanOrEqual(1);
    // The right admin token inside the lockout decides nothing.
    expect((await post(link, adminToken)).status).toBe(429);
    expect(await statusOf(gateway, tenant, id)).toBe('pending');
    // Audited like admin denials: wrong tokens and refusals are recorded, capped per tenant and minute.
    const denied = await securityEvents(gateway, tenant, 'approver_denied');
    expect(denied.filter((r) => r['code'] === 'unauthenticated')).toHaveLength(5);
    expect(denied.filter((r) => r['code'] === 'rate_limited').length).toBeGreaterThan(0);
    expect(denied.length).toBeLessThanOrEqual(60);
    expect(denied.every((r) => r['decision'] === 'deny' && r['target'] === `approval:${id}`)).toBe(true);
    // A signed-in approver still decides the locked request (no token attempt is involved).
    expect((await post(link, '', signIn.session)).status).toBe(200);
    expect(await statusOf(gateway, tenant, id)).toBe('approved');
  });

  it('CP-02 (review break of finding 7) wrong guesses spread over many approvals of a tenant stop at 30 a minute', async () => {
    const statuses: number[] = [];
    // Fresh approvals, 4 guesses each (under the per-approval 5): only the tenant budget can refuse. The first
    // test spent 6 token attempts of this tenant's 30 within this minute (and 294 refused ones, which cost none).
    for (let n = 0; n < 10; n++) {
      const { link } = await approvalLink(gateway, tenant, `spread-${n}`);
      for (let i = 0; i < 4; i++) statuses.push((await post(link, `spread-guess-${n}-${i}`)).status);
    }
    const allowed = statuses.filter((s) => s === 401).length;
    expect(allowed).toBeLessThanOrEqual(30);
    expect(allowed).toBeGreaterThanOrEqual(20);
    expect(statuses.filter((s) => s === 429).length).toBe(40 - allowed);
  });
});

describe.skipIf(chromiumMissing() !== undefined)('approval page token guessing in Chromium', () => {
  let gateway: TestGateway;
  let chromium: RunningChromium;
  const tenant = 'browser';

  beforeAll(async () => {
    gateway = await startTestGateway(config(tenant), { store: `sqlite:${join(dir, 'browser.db')}` });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await gateway?.close();
  });

  it('CP-02 (review break of finding 7) a person on a request the agent has throttled sees why nothing was decided', async () => {
    const { link, id } = await approvalLink(gateway, tenant, 'throttled-in-browser');
    for (let i = 0; i < 5; i++) expect((await post(link, `agent-guess-${i}`)).status).toBe(401);
    const context = await chromium.newContext();
    const page = await context.newPage();
    expect((await page.goto(link))?.status()).toBe(200);
    await page.getByLabel('Approver token').fill(approverToken);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Approve this call once' }).click(),
    ]);
    expect(refused.status()).toBe(429);
    expect(Number(refused.headers()['retry-after'])).toBeGreaterThanOrEqual(1);
    await chromium.screenshot(page, 'approval-page-throttled');
    expect(await page.getByRole('alert').locator('code').textContent()).toBe('rate_limited');
    expect(await page.getByLabel('Approver token').count()).toBe(1);
    expect(await statusOf(gateway, tenant, id)).toBe('pending');
    await context.close();
  });
});

describe.skipIf(!redisUrl)('approval page token guessing across two processes sharing Redis', () => {
  let first: TestGateway;
  let second: TestGateway;
  // A fresh tenant id: Redis outlives the test run.
  const tenant = `t${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    const store = `sqlite:${join(dir, 'two.db')}`;
    const shared = { redis: redisUrl, masterKey: randomBytes(32).toString('base64') };
    first = await startTestGateway(config(tenant, shared), { store });
    second = await startTestGateway(config(tenant, shared), { store });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  it('CP-02 (review break of finding 7) the per-approval budget is shared: alternating processes, the 6th guess is refused', async () => {
    const { link } = await approvalLink(first, tenant, 'two-processes');
    const path = new URL(link);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const on = i % 2 === 0 ? first : second;
      statuses.push((await post(`${on.url}${path.pathname}${path.search}`, `two-process-guess-${i}`)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
  });
});
