import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSignedUpUser, signInToConsole } from '../support/console-sign-in.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { watchBrowserPages } from '../support/watch-browser-pages.ts';

/**
 * Finding (personal API tokens have no console page): a member manages their own personal API tokens in the
 * console, in Debian's Chromium: creates one (shown once, with a copy button that puts it on the clipboard), uses
 * it against the admin API, sees it listed by prefix only and never again in full, cannot revoke another user's
 * token, and revokes their own, after which the admin API refuses it. Creating and revoking are audited naming the
 * member. Screenshots: test-results/console-tokens-*.png.
 */
const missing = chromiumMissing();
const password = 'console-tokens-password-0123';

let gateway: TestGateway;
let chromium: RunningChromium | undefined;
let context: BrowserContext;
let page: Page;
let memberId = '';
let adaTokenId = '';
/** The token the member created in the page. */
let created = '';
const browser = watchBrowserPages();

async function listTokens(token: string): Promise<Response> {
  return fetch(`${gateway.url}/api/v1/tenants/acme/api-tokens`, { headers: { authorization: `Bearer ${token}` } });
}

describe.skipIf(missing !== undefined)('console: personal API tokens (Chromium)', () => {
  beforeAll(async () => {
    const port = await freePort();
    gateway = await startTestGateway(
      {
        listen: `127.0.0.1:${port}`,
        publicUrl: `http://127.0.0.1:${port}`,
        adminToken: 'console-tokens-admin-token-0123456789',
        tenants: [{ id: 'acme', services: [], toolsets: [] }],
      },
      { live: { liveCheckMs: 100 } },
    );
    const users = gateway.gateway.users!;
    for (const [name, role] of [
      ['mia', 'member'],
      ['ada', 'admin'],
    ] as const) {
      const userId = await addSignedUpUser(users, 'acme', name, password, role);
      if (name === 'mia') memberId = userId;
      else adaTokenId = (await users.roles.createApiToken('acme', userId, { name: 'ada ci' }, 'operator')).id;
    }
    chromium = await launchChromium();
    context = await chromium.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gateway.url });
    page = await context.newPage();
    browser.watch(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    await signInToConsole(page, gateway.url, '/console/acme/tokens', 'mia', password);
  }, 120_000);

  afterAll(async () => {
    expect(browser.problems).toEqual([]);
    expect(browser.pendingRefusals()).toBe(0);
    await chromium?.close();
    await gateway?.close();
  });

  it('says what to do while the user has no token, and is in the navigation of a member', async () => {
    expect(await page.locator('main .empty').textContent()).toContain('No API token yet');
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('API tokens');
    // Ada's token is not Mia's: not listed.
    expect(await page.locator('main').textContent()).not.toContain('ada ci');
    await chromium!.screenshot(page, 'console-tokens-empty');
  });

  it('creates a token shown once with a copy button; it works against the admin API and is never shown again', async () => {
    await page.getByLabel('Token name').fill('deploy script');
    await page.getByLabel('Expires after (days)').fill('30');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.waitForSelector('.secret');
    const token = (await page.locator('#shown-once').textContent()) ?? '';
    expect(token).toMatch(/^gatehouse_pat_acme_[0-9a-f]{64}$/);
    created = token;
    expect(await page.locator('.notice-ok').textContent()).toContain('Created the API token deploy script');
    await page.locator('.secret').getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.locator('.secret button').textContent()).toBe('Copied');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(token);
    await chromium!.screenshot(page, 'console-tokens-created');

    const row = page.locator('main table tbody tr');
    expect(await row.count()).toBe(1);
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe('deploy script');
    expect(token.startsWith((cells[1] ?? '').replace('…', ''))).toBe(true);
    expect(cells[3]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(cells[4]).toBe('never');
    expect(cells[5]).toContain('active');

    const answer = await listTokens(token);
    expect(answer.status).toBe(200);
    const listed = ((await answer.json()) as { tokens: { name: string; userId: string; lastUsedAt: string }[] }).tokens;
    // The request the token signed in is its last use (recorded before the answer).
    expect(listed).toEqual([expect.objectContaining({ name: 'deploy script', userId: memberId })]);
    expect(Date.now() - Date.parse(listed[0]?.lastUsedAt ?? '')).toBeLessThan(60_000);

    // Opened again, the page lists the token by its prefix only, with when it was last used.
    await page.goto(`${gateway.url}/console/acme/tokens`);
    expect(await page.content()).not.toContain(token);
    expect(await page.locator('.secret').count()).toBe(0);
    const used = page.locator('main table tbody tr td').nth(4);
    expect(await used.locator('time').getAttribute('datetime')).toBe(listed[0]?.lastUsedAt);
    await chromium!.screenshot(page, 'console-tokens-last-used');
  });

  it("refuses to revoke another user's token from a member's session, and changes nothing", async () => {
    const csrf = (await page.locator('form input[name="csrf"]').first().getAttribute('value')) ?? '';
    const answer = await page.request.post(`${gateway.url}/console/acme/tokens`, {
      form: { csrf, action: 'revoke', token: adaTokenId },
      headers: { origin: gateway.url },
    });
    expect(answer.status()).toBe(404);
    expect(await answer.text()).toContain(`No active API token ${adaTokenId} of yours`);
    const ada = await gateway.gateway.users!.roles.listApiTokens('acme');
    expect(ada.find((t) => t.id === adaTokenId)?.revokedAt).toBeNull();
  });

  it('revokes the token: the admin API refuses it at once; both changes are audited naming the member', async () => {
    const token = (await gateway.gateway.users!.roles.listApiTokens('acme', memberId))[0]!;
    page.once('dialog', (dialog) => void dialog.accept());
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('revoked') === token.id),
      page.getByRole('button', { name: 'Revoke deploy script' }).click(),
    ]);
    expect(await page.locator('.notice-ok').textContent()).toContain('API token deploy script revoked');
    expect(await page.locator('main table tbody tr td').nth(5).textContent()).toContain('revoked');
    const refused = await listTokens(created);
    await refused.body?.cancel();
    expect(refused.status).toBe(401);
    await chromium!.screenshot(page, 'console-tokens-revoked');
    await page.setViewportSize({ width: 390, height: 844 });
    await chromium!.screenshot(page, 'console-tokens-phone');
    await page.setViewportSize({ width: 1280, height: 900 });

    const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', limit: 1000 });
    const events = records
      .filter((r) => r.event === 'api_token_created' || r.event === 'api_token_revoked')
      .filter((r) => r.target === `user:${memberId}/token:${token.id}`)
      .map((r) => [r.event, r.subject]);
    expect(events.sort()).toEqual([
      ['api_token_created', `user:${memberId}`],
      ['api_token_revoked', `user:${memberId}`],
    ]);
    expect(JSON.stringify(records)).not.toMatch(/gatehouse_pat_acme_[0-9a-f]{64}/);
  });
});
