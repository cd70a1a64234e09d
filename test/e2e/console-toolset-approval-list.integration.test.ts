import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSignedUpUser, openConsoleUntil, signInToConsole } from '../support/console-sign-in.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { watchBrowserPages } from '../support/watch-browser-pages.ts';

/**
 * Finding (issue 14: the toolset form loses an approval list): a toolset whose `approval` is a list of tools was
 * shown by the console's Edit form as "destructive", and saving the form for any other change replaced the list.
 * Now the form shows the list (Approval "these tools", each listed tool ticked "needs approval" in the tool picker,
 * a glob kept as a ticked pattern), saving another field keeps it, the list can be changed, and a tool that is not
 * in the toolset is refused naming it, with the form kept as sent. Screenshots: test-results/console-approval-*.png.
 */
const missing = chromiumMissing();
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const password = 'console-approval-list-password-0123';

let gateway: TestGateway;
let chromium: RunningChromium | undefined;
let page: Page;
const browser = watchBrowserPages();

async function storedToolset(id: string): Promise<Record<string, unknown> | undefined> {
  const stored = await gateway.adapters.store.tenantConfigs.read('acme');
  const toolsets = (stored?.document as { toolsets?: Record<string, unknown>[] } | undefined)?.toolsets ?? [];
  return toolsets.find((t) => t['id'] === id);
}

/** Opens the Edit form of toolset support once the tenant is served with its tools. */
async function openEdit(): Promise<void> {
  const form = '/console/acme/toolsets?edit=support#toolset-form';
  await openConsoleUntil(page, gateway.url, form, 'input[name=tools][value="fake_getItem"]');
}

const needsApproval = (value: string) => page.locator(`input[name=approvalTools][value="${value}"]`);

async function save(): Promise<void> {
  await page.getByRole('button', { name: 'Save toolset' }).click();
  await page.waitForLoadState('load');
}

describe.skipIf(missing !== undefined)('console: a toolset whose approval is a list of tools (Chromium)', () => {
  beforeAll(async () => {
    const port = await freePort();
    gateway = await startTestGateway(
      {
        listen: `127.0.0.1:${port}`,
        publicUrl: `http://127.0.0.1:${port}`,
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        tenants: [
          {
            id: 'acme',
            services: [{ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9' }],
            toolsets: [
              {
                id: 'support',
                description: 'The support desk',
                tools: ['fake_getItem', 'fake_deleteItem', 'fake_createItem'],
                access: 'write',
                approval: ['fake_deleteItem', 'fake_create*'],
              },
            ],
          },
        ],
      },
      { live: { liveCheckMs: 100 } },
    );
    await addSignedUpUser(gateway.gateway.users!, 'acme', 'ada', password, 'admin');
    chromium = await launchChromium();
    page = await (await chromium.newContext()).newPage();
    browser.watch(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    await signInToConsole(page, gateway.url, '/console/acme/toolsets', 'ada', password);
  }, 120_000);

  afterAll(async () => {
    expect(browser.problems).toEqual([]);
    expect(browser.pendingRefusals()).toBe(0);
    await chromium?.close();
    await gateway?.close();
  });

  it('keeps the approval list when another field of the toolset is saved', async () => {
    await openEdit();
    expect(await page.locator('select[name=approval]').inputValue()).toBe('tools');
    expect(await needsApproval('fake_deleteItem').isChecked()).toBe(true);
    expect(await needsApproval('fake_getItem').isChecked()).toBe(false);
    // A glob of the list that names no single tool is kept as a ticked pattern.
    expect(await needsApproval('fake_create*').isChecked()).toBe(true);
    await chromium!.screenshot(page, 'console-approval-list-form');

    await page.getByLabel('Rate limit per minute').fill('30');
    await save();
    expect(await page.locator('.notice-ok').textContent()).toContain('Toolset support saved');
    expect(await storedToolset('support')).toEqual({
      id: 'support',
      description: 'The support desk',
      tools: ['fake_getItem', 'fake_deleteItem', 'fake_createItem'],
      access: 'write',
      approval: ['fake_create*', 'fake_deleteItem'],
      rateLimit: { perMinute: 30 },
    });
  });

  it('changes the list by ticking and unticking tools, and shows it on the toolset', async () => {
    await openEdit();
    await needsApproval('fake_getItem').check();
    await needsApproval('fake_create*').uncheck();
    await save();
    expect(await page.locator('.notice-ok').textContent()).toContain('Toolset support saved');
    expect((await storedToolset('support'))?.['approval']).toEqual(['fake_getItem', 'fake_deleteItem']);
    expect(await page.locator('#toolset-support').textContent()).toContain('for fake_getItem, fake_deleteItem');
  });

  it('refuses a tool that is not in the toolset, naming it, and keeps the form as sent', async () => {
    await openEdit();
    await needsApproval('fake_addNote').check();
    await page.getByLabel('Rate limit per minute').fill('45');
    browser.expectRefusal(400);
    await save();
    expect(await page.locator('.notice-error').textContent()).toContain(
      'Approval: fake_addNote is not a tool of toolset support',
    );
    await chromium!.screenshot(page, 'console-approval-list-refused');
    expect((await storedToolset('support'))?.['approval']).toEqual(['fake_getItem', 'fake_deleteItem']);
    expect((await storedToolset('support'))?.['rateLimit']).toEqual({ perMinute: 30 });
    // What was ticked and typed is still there to correct.
    expect(await needsApproval('fake_addNote').isChecked()).toBe(true);
    expect(await page.getByLabel('Rate limit per minute').inputValue()).toBe('45');
    // Picking the tool for the toolset too makes it valid.
    await page.locator('input[name=tools][value="fake_addNote"]').check();
    await save();
    expect(await page.locator('.notice-ok').textContent()).toContain('Toolset support saved');
    expect(await storedToolset('support')).toMatchObject({
      tools: ['fake_getItem', 'fake_deleteItem', 'fake_createItem', 'fake_addNote'],
      approval: ['fake_getItem', 'fake_deleteItem', 'fake_addNote'],
      rateLimit: { perMinute: 45 },
    });
  });

  it('refuses "these tools" with none ticked', async () => {
    await openEdit();
    for (const name of ['fake_getItem', 'fake_deleteItem', 'fake_addNote']) await needsApproval(name).uncheck();
    browser.expectRefusal(400);
    await save();
    expect(await page.locator('.notice-error').textContent()).toContain('Approval: tick "needs approval"');
    expect((await storedToolset('support'))?.['approval']).toEqual(['fake_getItem', 'fake_deleteItem', 'fake_addNote']);
  });

  it('shows "needs approval" only while Approval is "these tools"; another choice replaces the list', async () => {
    await openEdit();
    expect(await needsApproval('fake_deleteItem').isVisible()).toBe(true);
    await page.locator('select[name=approval]').selectOption('destructive');
    expect(await needsApproval('fake_deleteItem').isVisible()).toBe(false);
    await chromium!.screenshot(page, 'console-approval-destructive');
    await save();
    expect(await page.locator('.notice-ok').textContent()).toContain('Toolset support saved');
    expect((await storedToolset('support'))?.['approval']).toBe('destructive');
  });
});
