import type { RunningChromium } from './launch-chromium.ts';

/**
 * A person connects in Chromium: opens the connect link (redirected to the provider's login page), signs in as `login`,
 * presses Continue on the consent page, and lands on the gateway's callback page. Screenshots of each page go to
 * test-results/ under `name`.
 */
export async function connectInChromium(
  running: RunningChromium,
  url: string,
  name: string,
  beforeCallback?: (callbackUrl: string) => Promise<void>,
  /** The account the person signs in with at the provider (its account id at oidc-provider's development pages). */
  login = 'alice@example.com',
): Promise<{ visited: string[]; callbackStatus: number; text: string }> {
  const context = await running.newContext();
  try {
    const page = await context.newPage();
    const visited: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest()) visited.push(request.url());
    });
    await page.goto(url);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('x');
    await running.screenshot(page, `${name}-1-login`);
    await Promise.all([page.waitForURL(/\/interaction\//), page.locator('button[type="submit"]').click()]);
    await page.locator('button[type="submit"]').waitFor();
    await running.screenshot(page, `${name}-2-consent`);
    if (beforeCallback !== undefined) {
      // Someone else gets the callback URL first (from a log, a shoulder, a proxy) and calls it without the cookie.
      // Playwright routes only the first request of a redirect chain, so the consent post is followed here (in
      // this browser context, with its cookies) up to the redirect to the callback, which the browser then takes.
      await page.route(/\/interaction\/[^/?]+$/, async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        const confirmed = await route.fetch({ maxRedirects: 0 });
        const resume = new URL(confirmed.headers()['location'] ?? '', route.request().url()).href;
        const resumed = await context.request.get(resume, { maxRedirects: 0 });
        const callbackUrl = new URL(resumed.headers()['location'] ?? '', resume).href;
        await beforeCallback(callbackUrl);
        await route.fulfill({ status: 303, headers: { location: callbackUrl } });
      });
    }
    const [callback] = await Promise.all([
      page.waitForResponse((response) => new URL(response.url()).pathname === '/oauth/callback'),
      page.locator('button[type="submit"]').click(),
    ]);
    await page.waitForLoadState();
    await running.screenshot(page, `${name}-3-done`);
    return { visited, callbackStatus: callback.status(), text: (await page.locator('body').textContent()) ?? '' };
  } finally {
    await context.close();
  }
}
