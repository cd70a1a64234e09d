import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * What a person sees when the gateway refuses a page before the page runs (its origin check): a page that says
 * what was wrong, not the problem JSON an API client gets. Real gateway; Debian's Chromium posts a form from another
 * site, as a person would who followed a link there. Screenshots: test-results/person-facing-errors-*.png.
 */
const adminToken = 'person-facing-errors-admin-token-0123456789';
const missing = chromiumMissing();

describe.skipIf(missing !== undefined)('errors a person sees in a browser', () => {
  let gateway: TestGateway;
  let browser: RunningChromium;
  let otherSite: Server;
  let otherOrigin = '';

  beforeAll(async () => {
    const port = await freePort();
    gateway = await startTestGateway({ adminToken, tenants: [{ id: 'acme' }] }, { port });
    // Another site, whose page posts a form to the gateway's operator sign-in (on load, as a lure would).
    otherSite = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><form method="post" action="${gateway.url}/operator/signin">
<input name="token" value="guess"></form><script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((resolve) => otherSite.listen(0, '127.0.0.1', resolve));
    otherOrigin = `http://localhost:${(otherSite.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => otherSite?.close(resolve));
    await gateway?.close();
  });

  it('cross_site_post_shows_json: a form another site posts to a gateway page is refused with a page saying why (403, HTML), not problem JSON', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const answered = page.waitForResponse((response) => response.url() === `${gateway.url}/operator/signin`);
      await page.goto(`${otherOrigin}/`);
      const response = await answered;
      await page.waitForLoadState();
      await browser.screenshot(page, 'person-facing-errors-cross-site-post');
      expect(response.status()).toBe(403);
      // Before: application/problem+json, shown to the person as raw JSON.
      expect(response.headers()['content-type']).toMatch(/^text\/html/);
      expect(await page.locator('h1').textContent()).toBe('Refused');
      const text = await page.locator('body').textContent();
      expect(text).toContain('Origin is not allowed');
      expect(text).toContain('another site');
    } finally {
      await context.close();
    }
  });

  it('an API client still gets problem JSON for the same refusal', async () => {
    const answer = await fetch(`${gateway.url}/operator/signin`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=guess',
    });
    expect(answer.status).toBe(403);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(((await answer.json()) as { code: string }).code).toBe('forbidden_origin');
  });
});
