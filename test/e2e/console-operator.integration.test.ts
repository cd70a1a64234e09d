import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorSessions, operatorCookieName, operatorSessionPurpose } from '../../src/users/index.ts';
import { addSignedUpUser } from '../support/console-sign-in.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { watchBrowserPages } from '../support/watch-browser-pages.ts';

/**
 * Issue 14, the operator in the console (Debian's Chromium): the gateway's operator, who holds the admin token and
 * no user account, signs in with it from a tenant's sign-in page, sees every tenant, works in a tenant's console as
 * its owner (shown as `operator`), and a change made there is audited with the actor `operator`. A wrong token is
 * refused saying so; a tampered or expired cookie opens nothing; a form without the session's CSRF token changes
 * nothing; sign-out clears the cookie and ends the session (a copy of the cookie opens nothing). Across restarts: the same master key and admin token accept the cookie, a
 * changed admin token refuses it. Screenshots: test-results/console-operator-*.png.
 */
const missing = chromiumMissing();
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const masterKey = randomBytes(32).toString('base64');
const adminToken = `operator-admin-token-${randomBytes(12).toString('hex')}`;

let gateway: TestGateway;
let chromium: RunningChromium | undefined;
let context: BrowserContext;
let page: Page;
const browser = watchBrowserPages();

function startGateway(token: string, port: number): Promise<TestGateway> {
  return startTestGateway(
    {
      listen: `127.0.0.1:${port}`,
      publicUrl: `http://127.0.0.1:${port}`,
      masterKey,
      adminToken: token,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9' }],
          toolsets: [{ id: 'support', tools: ['fake_getItem'], access: 'read' }],
        },
        { id: 'globex', services: [], toolsets: [] },
      ],
    },
    { live: { liveCheckMs: 100 } },
  );
}

async function storedToolset(id: string): Promise<Record<string, unknown> | undefined> {
  const stored = await gateway.adapters.store.tenantConfigs.read('acme');
  const toolsets = (stored?.document as { toolsets?: Record<string, unknown>[] } | undefined)?.toolsets ?? [];
  return toolsets.find((t) => t['id'] === id);
}

/** A page of `of` whose problems fail the suite, at a laptop's size. */
async function openPage(of: BrowserContext): Promise<Page> {
  const opened = await of.newPage();
  browser.watch(opened);
  await opened.setViewportSize({ width: 1280, height: 900 });
  return opened;
}

async function operatorCookie(of: BrowserContext) {
  return (await of.cookies()).find((c) => c.name === operatorCookieName);
}

/** Signs `on` in as the operator from the sign-in page a console path sends to; waits to be back on the path. */
async function signInAsOperator(on: Page, url: string, path: string, token: string): Promise<void> {
  await on.goto(`${url}${path}`);
  await on.getByText('Operator of this gateway? Sign in with the admin token').click();
  await on.getByLabel('Admin token').fill(token);
  await Promise.all([
    on.waitForURL((u) => u.pathname === path),
    on.getByRole('button', { name: 'Sign in as operator' }).click(),
  ]);
}

describe.skipIf(missing !== undefined)('console: the operator signs in with the admin token (Chromium)', () => {
  beforeAll(async () => {
    gateway = await startGateway(adminToken, await freePort());
    chromium = await launchChromium();
    context = await chromium.newContext();
    page = await openPage(context);
  }, 120_000);

  afterAll(async () => {
    // Closed first, so a problem found below leaves no browser or gateway running.
    await chromium?.close();
    await gateway?.close();
    expect({ problems: browser.problems, pendingRefusals: browser.pendingRefusals() }).toEqual({
      problems: [],
      pendingRefusals: 0,
    });
  });

  it('signs in from a tenant sign-in page, is shown as operator, and sees every tenant', async () => {
    await page.goto(`${gateway.url}/console/acme/toolsets`);
    expect(new URL(page.url()).pathname).toBe('/signin/acme');
    await page.getByText('Operator of this gateway? Sign in with the admin token').click();
    await chromium!.screenshot(page, 'console-operator-signin');
    await signInAsOperator(page, gateway.url, '/console/acme/toolsets', adminToken);

    expect(await page.locator('header .who').textContent()).toContain('operator (owner of every tenant)');
    // Every owner page is in the navigation; the user's own API tokens are not (the operator is no user).
    const nav = await page.locator('nav a').allTextContents();
    expect(nav).toEqual(expect.arrayContaining(['Overview', 'Toolsets', 'Approvals', 'Audit', 'Users and keys']));
    expect(nav).not.toContain('API tokens');
    const cookie = await operatorCookie(context);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    const hours = ((cookie?.expires ?? 0) * 1000 - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(7.9);
    expect(hours).toBeLessThanOrEqual(8);
    expect(cookie?.value).not.toContain(adminToken);

    await Promise.all([
      page.waitForURL((u) => u.pathname === '/console'),
      page.getByRole('link', { name: 'All tenants' }).click(),
    ]);
    expect(await page.locator('main table tbody tr td:first-child').allTextContents()).toEqual(['acme', 'globex']);
    await chromium!.screenshot(page, 'console-operator-tenants');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/console/globex'),
      page.getByRole('link', { name: 'globex' }).click(),
    ]);
    expect(await page.locator('header .tenant').textContent()).toBe('globex');
  });

  it('edits a toolset; the change is audited with the actor operator', async () => {
    await page.goto(`${gateway.url}/console/acme/toolsets?edit=support`);
    await page.getByLabel('Rate limit per minute').fill('30');
    await page.getByRole('button', { name: 'Save toolset' }).click();
    await page.waitForLoadState('load');
    expect(await page.locator('.notice-ok').textContent()).toContain('Toolset support saved');
    expect(await storedToolset('support')).toMatchObject({ rateLimit: { perMinute: 30 } });
    const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', limit: 1000 });
    const changed = records.filter((r) => r.event === 'config_changed' && r.target === 'toolset:support');
    expect(changed.map((r) => r.subject)).toEqual(['operator']);
    expect(JSON.stringify(records)).not.toContain(adminToken);
    await chromium!.screenshot(page, 'console-operator-toolset-saved');
  });

  it('grants a role on the Users page; the grant is audited with the actor operator', async () => {
    const userId = await addSignedUpUser(
      gateway.gateway.users!,
      'acme',
      'ada',
      'operator-suite-password-0123',
      'member',
    );
    await page.goto(`${gateway.url}/console/acme/users`);
    // Narrowest first (newcomer: the list started on owner): ada holds member, so auditor is what Grant gives unpicked.
    expect(await page.getByLabel('Role to grant ada').inputValue()).toBe('auditor');
    await page.getByLabel('Role to grant ada').selectOption('auditor');
    await page.locator(`form:has(#grant-${userId}) button`).click();
    await page.waitForLoadState('load');
    expect(await gateway.gateway.users!.roles.rolesOf('acme', userId)).toEqual(expect.arrayContaining(['auditor']));
    const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', limit: 1000 });
    const granted = records.filter((r) => r.event === 'role_granted' && r.target === `user:${userId}/role:auditor`);
    expect(granted.map((r) => r.subject)).toEqual(['operator']);
    await chromium!.screenshot(page, 'console-operator-users');
  });

  it("refuses a console form without the operator session's CSRF token, changing nothing", async () => {
    const before = await storedToolset('support');
    // What another site's form could send: the browser adds the (SameSite=Strict) cookie only same-site, and the
    // page's CSRF token it can never read. Sent here from the page's own context with the cookie, without the token.
    const answer = await page.request.post(`${gateway.url}/console/acme/toolsets`, {
      form: { action: 'delete', id: 'support', version: '' },
      headers: { origin: gateway.url },
      maxRedirects: 0,
    });
    expect(answer.status()).toBe(403);
    expect(await answer.text()).toContain('The form expired or came from another page; nothing was changed.');
    expect(await storedToolset('support')).toEqual(before);
  });

  it('refuses a wrong admin token with a clear message, and sets no session', async () => {
    const other = await chromium!.newContext();
    const stranger = await openPage(other);
    await stranger.goto(`${gateway.url}/operator/signin`);
    await stranger.getByLabel('Admin token').fill(`${adminToken}x`);
    browser.expectRefusal(401);
    await stranger.getByRole('button', { name: 'Sign in as operator' }).click();
    await stranger.waitForLoadState('load');
    expect(await stranger.getByRole('alert').textContent()).toContain(
      'Wrong admin token: that is not the adminToken this gateway runs with.',
    );
    expect(await operatorCookie(other)).toBeUndefined();
    await chromium!.screenshot(stranger, 'console-operator-wrong-token');
    await other.close();
  });

  it('opens nothing with a tampered or an expired cookie', async () => {
    const good = (await operatorCookie(context))?.value as string;
    const [version, expires, nonce, mac] = good.split('.') as [string, string, string, string];
    // Correctly signed, by the same key and token, 8 hours and a minute ago: expired a minute ago.
    const expired = createOperatorSessions({
      adminToken,
      keys: await gateway.adapters.vault.deriveKeys(operatorSessionPurpose),
      ended: gateway.adapters.store.operatorSessionEnds,
      now: () => Date.now() - 8 * 3_600_000 - 60_000,
    }).issue().value;
    for (const value of [
      `${version}.${Number(expires) - 60}.${nonce}.${mac}`,
      `${version}.${expires}.${nonce}.${mac.slice(0, -3)}${mac.endsWith('AAA') ? 'BBB' : 'AAA'}`,
      expired,
    ]) {
      const other = await chromium!.newContext();
      await other.addCookies([{ name: operatorCookieName, value, url: gateway.url }]);
      const visitor = await openPage(other);
      await visitor.goto(`${gateway.url}/console/acme/audit`);
      expect(new URL(visitor.url()).pathname, value).toBe('/signin/acme');
      await visitor.goto(`${gateway.url}/console`);
      expect(new URL(visitor.url()).pathname).toBe('/operator/signin');
      await other.close();
    }
  });

  it('signs out: the cookie is cleared, the console asks to sign in again, and a copy of the cookie taken before opens nothing (operator_cookie_outlives_sign_out)', async () => {
    await page.goto(`${gateway.url}/console/acme`);
    const copied = (await operatorCookie(context))?.value as string;
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/operator/signin'),
      page.getByRole('button', { name: 'Sign out' }).click(),
    ]);
    expect(await operatorCookie(context)).toBeUndefined();
    await page.goto(`${gateway.url}/console/acme`);
    expect(new URL(page.url()).pathname).toBe('/signin/acme');

    // The copy, put into another browser after the sign-out: every console page sends it to sign in.
    const other = await chromium!.newContext();
    await other.addCookies([{ name: operatorCookieName, value: copied, url: gateway.url }]);
    const thief = await openPage(other);
    await thief.goto(`${gateway.url}/console/acme/toolsets`);
    expect(new URL(thief.url()).pathname).toBe('/signin/acme');
    await thief.goto(`${gateway.url}/console`);
    expect(new URL(thief.url()).pathname).toBe('/operator/signin');
    await chromium!.screenshot(thief, 'console-operator-copied-cookie-after-sign-out');
    await other.close();
  });

  it('after a restart: the same admin token keeps the session; another admin token ends it', async () => {
    await signInAsOperator(page, gateway.url, '/console/acme', adminToken);
    const port = new URL(gateway.url).port;
    await gateway.close();

    // Same master key and admin token (another process of the fleet, or this one restarted): still signed in.
    gateway = await startGateway(adminToken, Number(port));
    await page.goto(`${gateway.url}/console`);
    expect(new URL(page.url()).pathname).toBe('/console');
    expect(await page.locator('main table tbody tr td:first-child').allTextContents()).toEqual(['acme', 'globex']);
    await gateway.close();

    // The admin token was rotated: the same cookie, the same master key, and nothing opens.
    gateway = await startGateway(`rotated-${adminToken}`, Number(port));
    expect(await operatorCookie(context)).toBeDefined();
    await page.goto(`${gateway.url}/console/acme`);
    expect(new URL(page.url()).pathname).toBe('/signin/acme');
    await page.goto(`${gateway.url}/console`);
    expect(new URL(page.url()).pathname).toBe('/operator/signin');
    await chromium!.screenshot(page, 'console-operator-token-rotated');
  }, 60_000);
});
