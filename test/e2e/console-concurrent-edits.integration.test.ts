import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSignedUpUser, openConsoleUntil, signInToConsole } from '../support/console-sign-in.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { watchBrowserPages } from '../support/watch-browser-pages.ts';

/**
 * Finding (console writes carry no If-Match): two people editing the same toolset in the console, each in their
 * own Chromium context, both save; the second save silently overwrote the first. Now every console form that
 * changes the stored tenant document carries the version it was made from: the second save is refused with a
 * page saying the toolset changed since it was opened, a link to reload it and the values that were not saved,
 * and the stored document holds the first change only. The same for making a toolset whose id someone made
 * meanwhile, removing a changed toolset, saving a changed alert rule (a credential field is not shown back) and
 * removing a service changed through the admin API. Screenshots: test-results/console-concurrent-*.png.
 */
const missing = chromiumMissing();
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const password = 'console-concurrent-password-0123';
const adminToken = 'console-concurrent-admin-token-0123456789';

let gateway: TestGateway;
let chromium: RunningChromium | undefined;
let ada: Page;
let bob: Page;
const browser = watchBrowserPages();

/** The stored toolset `id` of tenant acme, as the tenant document holds it. */
async function storedToolset(id: string): Promise<Record<string, unknown> | undefined> {
  const stored = await gateway.adapters.store.tenantConfigs.read('acme');
  const toolsets = (stored?.document as { toolsets?: Record<string, unknown>[] } | undefined)?.toolsets ?? [];
  return toolsets.find((t) => t['id'] === id);
}

/** The stored alert rule `id` of tenant acme. */
async function storedRule(id: string): Promise<Record<string, unknown> | undefined> {
  const stored = await gateway.adapters.store.tenantConfigs.read('acme');
  const rules = (stored?.document as { alertRules?: Record<string, unknown>[] } | undefined)?.alertRules ?? [];
  return rules.find((r) => r['id'] === id);
}

/** Opens the toolsets page at `query` and waits for the service's tools in the form (the tenant is served live). */
async function openForm(page: Page, query: string): Promise<void> {
  await openConsoleUntil(
    page,
    gateway.url,
    `/console/acme/toolsets${query}`,
    'input[name=tools][value="fake_getItem"]',
  );
}

async function save(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Save toolset' }).click();
  await page.waitForLoadState('load');
}

describe.skipIf(missing !== undefined)('console: two people editing one toolset (Chromium)', () => {
  beforeAll(async () => {
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
            services: [{ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9' }],
            toolsets: [{ id: 'support', tools: ['fake_getItem'], access: 'read' }],
            alertRules: [{ id: 'errors', metric: 'upstream_errors', threshold: 5, windowSeconds: 60 }],
          },
        ],
      },
      { live: { liveCheckMs: 100 } },
    );
    const users = gateway.gateway.users!;
    for (const name of ['ada', 'bob']) await addSignedUpUser(users, 'acme', name, password, 'admin');
    chromium = await launchChromium();
    ada = await (await chromium.newContext()).newPage();
    bob = await (await chromium.newContext()).newPage();
    for (const page of [ada, bob]) {
      browser.watch(page);
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    await signInToConsole(ada, gateway.url, '/console/acme/toolsets', 'ada', password);
    await signInToConsole(bob, gateway.url, '/console/acme/toolsets', 'bob', password);
  }, 120_000);

  afterAll(async () => {
    expect(browser.problems).toEqual([]);
    expect(browser.pendingRefusals()).toBe(0);
    await chromium?.close();
    await gateway?.close();
  });

  it('refuses the second of two saves made from the same version, and keeps the first', async () => {
    await openForm(ada, '?edit=support');
    await openForm(bob, '?edit=support');
    // Ada adds a tool; Bob, on the version he opened, sets a rate limit.
    await ada.locator('input[name=tools][value="fake_getItem"]').setChecked(true);
    await ada.locator('input[name=tools][value="fake_listItems"]').setChecked(true);
    await save(ada);
    expect(await ada.locator('.notice-ok').textContent()).toContain('Toolset support saved');

    await bob.locator('input[name=tools][value="fake_getItem"]').setChecked(true);
    await bob.getByLabel('Rate limit per minute').fill('30');
    browser.expectRefusal(409);
    await save(bob);
    expect(await bob.locator('.notice-error').textContent()).toContain(
      'Toolset support changed since you opened this form',
    );
    expect(await bob.locator('.notice-error').textContent()).toContain('nothing was saved');
    await chromium!.screenshot(bob, 'console-concurrent-refused');

    // The stored toolset is Ada's, whole; nothing of Bob's form was written.
    expect(await storedToolset('support')).toEqual({
      id: 'support',
      tools: ['fake_getItem', 'fake_listItems'],
      access: 'read',
      approval: 'destructive',
    });

    // What Bob sent is on the page, and the reload link opens the current version (Ada's) to edit.
    expect(await bob.locator('.not-saved').textContent()).toContain('30');
    const reload = bob.getByRole('link', { name: 'Reload the current version' });
    expect(await reload.getAttribute('href')).toBe('/console/acme/toolsets?edit=support#toolset-form');
    await reload.click();
    await bob.waitForLoadState('load');
    // The tenant is served again after Ada's save within the live check interval; until then the form waits.
    await openForm(bob, '?edit=support');
    expect(await bob.locator('input[name=tools][value="fake_listItems"]').isChecked()).toBe(true);
    expect(await bob.getByLabel('Rate limit per minute').inputValue()).toBe('');
    // Made again on the current version, Bob's change is saved.
    await bob.getByLabel('Rate limit per minute').fill('30');
    await save(bob);
    expect(await bob.locator('.notice-ok').textContent()).toContain('Toolset support saved');
    expect(await storedToolset('support')).toMatchObject({
      tools: ['fake_getItem', 'fake_listItems'],
      rateLimit: { perMinute: 30 },
    });
  });

  it('refuses a second person creating a toolset with an id someone created meanwhile', async () => {
    await openForm(ada, '');
    await openForm(bob, '');
    await ada.getByLabel('Toolset id').fill('triage');
    await ada.locator('input[name=tools][value="fake_getItem"]').setChecked(true);
    await save(ada);
    expect(await ada.locator('.notice-ok').textContent()).toContain('Toolset triage created');

    await bob.getByLabel('Toolset id').fill('triage');
    await bob.locator('input[name=tools][value="fake_listItems"]').setChecked(true);
    browser.expectRefusal(409);
    await save(bob);
    expect(await bob.locator('.notice-error').textContent()).toContain(
      'Toolset triage changed since you opened this form',
    );
    expect(await storedToolset('triage')).toMatchObject({ tools: ['fake_getItem'] });
  });

  it('refuses removing a toolset that changed since the page was opened', async () => {
    await openForm(ada, '');
    await openForm(bob, '');
    await openForm(ada, '?edit=triage');
    await ada.getByLabel('Rate limit per minute').fill('5');
    await save(ada);
    expect(await ada.locator('.notice-ok').textContent()).toContain('Toolset triage saved');

    bob.once('dialog', (dialog) => void dialog.accept());
    browser.expectRefusal(409);
    await bob.locator('#toolset-triage').getByRole('button', { name: 'Remove toolset' }).click();
    await bob.waitForLoadState('load');
    expect(await bob.locator('.notice-error').textContent()).toContain(
      'Toolset triage changed since you opened this form',
    );
    expect(await storedToolset('triage')).toMatchObject({ rateLimit: { perMinute: 5 } });
  });

  it('refuses the second save of one alert rule, without showing back what may be a secret', async () => {
    for (const page of [ada, bob]) await page.goto(`${gateway.url}/console/acme/alerts?edit=errors#rule-form`);
    await ada.getByLabel('Threshold').fill('7');
    await ada.getByRole('button', { name: 'Save rule' }).click();
    await ada.waitForURL((url) => url.searchParams.get('saved') === 'errors');

    await bob.getByLabel('Threshold').fill('9');
    await bob.getByLabel('Webhook secret: environment variable').fill('GATEHOUSE_TENANT_ACME_ALERTS');
    browser.expectRefusal(409);
    await bob.getByRole('button', { name: 'Save rule' }).click();
    await bob.waitForLoadState('load');
    expect(await bob.locator('.notice-error').textContent()).toContain(
      'Alert rule errors changed since you opened this form',
    );
    const sent = (await bob.locator('.not-saved').textContent()) ?? '';
    expect(sent).toContain('threshold');
    expect(sent).not.toContain('webhookSecret');
    expect(sent).not.toContain('GATEHOUSE_TENANT_ACME_ALERTS');
    expect(await bob.getByRole('link', { name: 'Reload the current version' }).getAttribute('href')).toBe(
      '/console/acme/alerts?edit=errors#rule-form',
    );
    expect(await storedRule('errors')).toMatchObject({ threshold: 7 });
  });

  it('refuses removing a service changed through the admin API since the page was opened', async () => {
    await bob.goto(`${gateway.url}/console/acme/services`);
    const changed = await fetch(`${gateway.url}/api/v1/tenants/acme/services/fake`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:10' }),
    });
    expect(changed.status, await changed.clone().text()).toBe(200);
    bob.once('dialog', (dialog) => void dialog.accept());
    browser.expectRefusal(409);
    await bob.getByRole('button', { name: 'Remove' }).click();
    await bob.waitForLoadState('load');
    expect(await bob.locator('.notice-error').textContent()).toContain('Service fake changed since you opened');
    const stored = await gateway.adapters.store.tenantConfigs.read('acme');
    expect((stored?.document as { services?: unknown[] } | undefined)?.services).toEqual([
      expect.objectContaining({ id: 'fake', baseUrl: 'http://127.0.0.1:10' }),
    ]);
  });
});
