import type { Page } from 'playwright-core';

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
