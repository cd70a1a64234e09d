import { createHmac, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSignedUpUser, signInToConsole } from '../support/console-sign-in.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/start-webhook-receiver.ts';
import { callGetItem } from '../support/static-key-tenant.ts';
import { watchBrowserPages } from '../support/watch-browser-pages.ts';

/**
 * Issue 14, a tenant's own alert rules in the console, in Debian's Chromium: an admin adds a rule (metric,
 * threshold, window, a webhook on 127.0.0.1 signed with a secret named by its environment variable), real MCP
 * calls against a fake upstream that fails cross it, the signed delivery arrives at the webhook server and the
 * page lists it as delivered. The admin then edits, disables and deletes the rule; an auditor sees the rules but
 * no form. A literal secret and a loopback URL the operator did not allow are refused, naming the field. Any
 * console error, page error or failed request fails the suite. Screenshots go to test-results/console-alert-*.png.
 */
const missing = chromiumMissing();
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'console-alert-rules-admin-token-0123456789';
const password = 'console-alert-rules-password-0123';
const webhookSecret = `tenant-alert-secret-${randomBytes(12).toString('hex')}`;

let gateway: TestGateway;
/** The agent's client key, made through the admin API (a key written in the file would keep the tenant static). */
let clientKey = '';
let upstream: FakeApi;
let receiver: WebhookReceiver;
let chromium: RunningChromium | undefined;
let page: Page;
const browser = watchBrowserPages();

async function signIn(target: Page, name: string): Promise<void> {
  await signInToConsole(target, gateway.url, '/console/acme/alerts', name, password);
}

async function callTool(itemId: string): Promise<string> {
  return (await callGetItem(gateway.url, itemId, clientKey)).text;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The stored rules of tenant acme, as the tenant document holds them. */
async function storedRules(): Promise<Record<string, unknown>[]> {
  const stored = await gateway.adapters.store.tenantConfigs.read('acme');
  return (stored?.document as { alertRules?: Record<string, unknown>[] } | undefined)?.alertRules ?? [];
}

describe.skipIf(missing !== undefined)("console: a tenant's own alert rules (Chromium)", () => {
  beforeAll(async () => {
    upstream = await startFakeApi();
    // `broken` fails upstream (an upstream_error); everything else answers.
    upstream.handle((request, res) => {
      if (request.path.endsWith('/broken')) return void res.writeHead(500).end('{}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'ok' }));
    });
    receiver = await startWebhookReceiver();
    const port = await freePort();
    gateway = await startTestGateway(
      {
        listen: `127.0.0.1:${port}`,
        publicUrl: `http://127.0.0.1:${port}`,
        adminToken,
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        tenants: [
          {
            id: 'acme',
            services: [{ id: 'fake', openapi: description, baseUrl: upstream.url }],
            toolsets: [{ id: 'reader', tools: ['fake_*'], access: 'read', discovery: { mode: 'never' } }],
          },
        ],
      },
      { live: { liveCheckMs: 100 }, env: { GATEHOUSE_TENANT_ACME_ALERTS: webhookSecret } },
    );
    const key = await fetch(`${gateway.url}/api/v1/tenants/acme/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'agent', toolsets: ['reader'] }),
    });
    expect(key.status).toBe(201);
    clientKey = ((await key.json()) as { key: string }).key;
    const users = gateway.gateway.users!;
    for (const [name, role] of [
      ['ada', 'admin'],
      ['ian', 'auditor'],
    ] as const) {
      await addSignedUpUser(users, 'acme', name, password, role);
    }
    chromium = await launchChromium();
    page = await (await chromium.newContext()).newPage();
    browser.watch(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    await signIn(page, 'ada');
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await gateway?.close();
    await receiver?.close();
    await upstream?.close();
  });

  it('says what to do while the tenant has no rule of its own, and shows the operator rules read-only', async () => {
    expect(await page.locator('#own-rules + p.empty').textContent()).toContain('No rules of your own yet');
    expect(await page.locator('main').textContent()).toContain('Operator rules');
    expect(await page.locator('main').textContent()).toContain('policy_denials');
    await chromium!.screenshot(page, 'console-alert-rules-empty');
  });

  it('refuses a literal secret and a loopback webhook the operator did not allow, naming the field', async () => {
    await page.getByLabel('Rule id').fill('errors');
    await page.getByLabel('Counts').selectOption('upstream_errors');
    await page.getByLabel('Threshold').fill('2');
    await page.getByLabel('Window (seconds)').fill('60');
    await page.getByLabel('Webhook URL (optional)').fill(receiver.url);
    await page.getByLabel('Webhook secret: environment variable').fill('not a variable: s3cr3t-value!');
    browser.expectRefusal();
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.waitForSelector('.notice-error');
    expect(await page.locator('.notice-error').textContent()).toContain('Webhook secret');
    expect(await page.content()).not.toContain('s3cr3t-value');
    // The form kept what was sent (but the secret field).
    expect(await page.getByLabel('Rule id').inputValue()).toBe('errors');

    await page.getByLabel('Webhook URL (optional)').fill('http://169.254.169.254/latest');
    await page.getByLabel('Webhook secret: environment variable').fill('GATEHOUSE_TENANT_ACME_ALERTS');
    browser.expectRefusal();
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.waitForSelector('.notice-error');
    expect(await page.locator('.notice-error').textContent()).toContain('alertRules[0].webhook.url');
    expect(await storedRules()).toEqual([]);
    await chromium!.screenshot(page, 'console-alert-rules-refused');
  });

  it('adds a rule; real calls cross it and the signed alert reaches the webhook and the page', async () => {
    await page.goto(`${gateway.url}/console/acme/alerts`);
    await page.getByLabel('Rule id').fill('errors');
    await page.getByLabel('Counts').selectOption('upstream_errors');
    await page.getByLabel('Threshold').fill('2');
    await page.getByLabel('Window (seconds)').fill('60');
    await page.getByLabel('Webhook URL (optional)').fill(receiver.url);
    await page.getByLabel('Webhook secret: environment variable').fill('GATEHOUSE_TENANT_ACME_ALERTS');
    await chromium!.screenshot(page, 'console-alert-rules-form');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('added') === 'errors'),
      page.getByRole('button', { name: 'Save rule' }).click(),
    ]);
    expect(await page.locator('.notice-ok').textContent()).toContain('Alert rule errors added');
    expect(await storedRules()).toEqual([
      {
        id: 'errors',
        metric: 'upstream_errors',
        threshold: 2,
        windowSeconds: 60,
        enabled: true,
        webhook: { url: receiver.url, secret: '${env:GATEHOUSE_TENANT_ACME_ALERTS}' },
      },
    ]);
    // The page shows the webhook's origin only, and never the secret.
    expect(await page.content()).not.toContain(webhookSecret);

    // Real calls through the gateway: one good, then failures until the rule is crossed (the live change reaches
    // the serving runtime within the check interval, so keep calling until the alert arrives).
    expect(await callTool('fine')).not.toContain('"isError":true');
    await until(async () => {
      expect(await callTool('broken')).toContain('"isError":true');
      return receiver.received.some((r) => r.body.includes('"ruleId":"errors"'));
    });
    const delivery = receiver.received.find((r) => r.body.includes('"ruleId":"errors"'));
    const timestamp = String(delivery?.headers['x-gatehouse-timestamp']);
    const expected = `v1=${createHmac('sha256', webhookSecret).update(`${timestamp}.${delivery?.body}`).digest('hex')}`;
    expect(delivery?.headers['x-gatehouse-signature']).toBe(expected);
    expect(JSON.parse(delivery?.body ?? '{}')).toMatchObject({
      type: 'gatehouse.alert',
      alert: { rule: 'tenant_rule', ruleId: 'errors', tenant: 'acme', about: 'service:fake', threshold: 2 },
    });
    expect(upstream.received.some((r) => r.path.endsWith('/broken'))).toBe(true);

    await until(async () => {
      await page.goto(`${gateway.url}/console/acme/alerts`);
      return (await page.locator('#alert-deliveries td[data-label="Outcome"]').allTextContents()).includes('delivered');
    });
    const row = await page.locator('#alert-deliveries tbody tr').first().textContent();
    expect(row).toContain('errors');
    expect(row).toContain('service:fake');
    await chromium!.screenshot(page, 'console-alert-rules-delivered');
  });

  it('edits, disables and deletes the rule', async () => {
    await page.getByRole('link', { name: 'Edit errors' }).click();
    await page.waitForURL((url) => url.searchParams.get('edit') === 'errors');
    expect(await page.getByLabel('Threshold').inputValue()).toBe('2');
    expect(await page.getByLabel('Webhook secret: environment variable').inputValue()).toBe(
      'GATEHOUSE_TENANT_ACME_ALERTS',
    );
    await page.getByLabel('Threshold').fill('5');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('saved') === 'errors'),
      page.getByRole('button', { name: 'Save rule' }).click(),
    ]);
    expect((await storedRules())[0]).toMatchObject({ threshold: 5, enabled: true });
    expect(await page.locator('main').textContent()).toContain('5 within 60 s');

    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('disabled') === 'errors'),
      page.getByRole('button', { name: 'Disable errors' }).click(),
    ]);
    expect((await storedRules())[0]).toMatchObject({ enabled: false });
    expect(await page.locator('main .badge-disabled').count()).toBe(1);
    await chromium!.screenshot(page, 'console-alert-rules-disabled');

    page.once('dialog', (dialog) => void dialog.accept());
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('deleted') === 'errors'),
      page.getByRole('button', { name: 'Delete errors' }).click(),
    ]);
    expect(await storedRules()).toEqual([]);
  });

  it('shows an auditor the rules without a form, and refuses their change with 403', async () => {
    await page.getByLabel('Rule id').fill('calls');
    await page.getByLabel('Counts').selectOption('tool_calls');
    await page.getByLabel('Threshold').fill('1000');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('added') === 'calls'),
      page.getByRole('button', { name: 'Save rule' }).click(),
    ]);
    const auditor = await (await chromium!.newContext()).newPage();
    browser.watch(auditor);
    await signIn(auditor, 'ian');
    expect(await auditor.locator('main').textContent()).toContain('calls of one tool');
    expect(await auditor.locator('#rule-form').count()).toBe(0);
    expect(await auditor.getByRole('button', { name: /Delete/ }).count()).toBe(0);
    await chromium!.screenshot(auditor, 'console-alert-rules-auditor');
    // A form posted anyway (with the auditor's own CSRF token, from the audit page's forms) is refused.
    await auditor.goto(`${gateway.url}/console/acme/audit`);
    const csrf = await auditor.locator('input[name="csrf"]').first().getAttribute('value');
    const answer = await auditor.request.post(`${gateway.url}/console/acme/alerts`, {
      form: { csrf: csrf ?? '', action: 'delete', id: 'calls' },
      headers: { origin: gateway.url },
    });
    expect(answer.status()).toBe(403);
    expect(await storedRules()).toHaveLength(1);
  });

  it('had no console error and no failed request on any page', () => {
    expect(browser.problems).toEqual([]);
    expect(browser.pendingRefusals()).toBe(0);
  });
});
