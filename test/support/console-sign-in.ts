import type { Page } from 'playwright-core';
import type { GatewayUsers } from '../../src/gateway/index.ts';

/**
 * Opens console page `path` (`/console/acme/alerts`) signed out, signs in as `name` on the sign-in page it sends to,
 * and waits to be back on `path`: what a person does in the browser.
 */
export async function signInToConsole(
  page: Page,
  gatewayUrl: string,
  path: string,
  name: string,
  password: string,
): Promise<void> {
  await page.goto(`${gatewayUrl}${path}`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(password);
  await Promise.all([
    page.waitForURL((url) => url.pathname === path),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

/**
 * A user of `tenant` as a person would have it after accepting their invite: `name` with `password`, granted `role`
 * by the operator. Returns the user's id.
 */
export async function addSignedUpUser(
  users: GatewayUsers,
  tenant: string,
  name: string,
  password: string,
  role: string,
): Promise<string> {
  const created = await users.createUser(tenant, { name }, 'operator');
  await users.acceptInvite(created.inviteUrl.split('/invite/')[1] as string, password);
  await users.roles.grantRole(tenant, created.user.id, role, 'operator');
  return created.user.id;
}

/**
 * Opens console page `path` (with its query) until `selector` is on it: a change stored a moment ago is served
 * within the live check interval, so a page made before that does not show it yet.
 */
export async function openConsoleUntil(page: Page, gatewayUrl: string, path: string, selector: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await page.goto(`${gatewayUrl}${path}`);
    if ((await page.locator(selector).count()) > 0) return;
    if (Date.now() > deadline) throw new Error(`${selector} not on ${path}`);
    await page.waitForTimeout(200);
  }
}
