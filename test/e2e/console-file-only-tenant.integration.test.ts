import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSignedUpUser, signInToConsole } from '../support/console-sign-in.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { watchBrowserPages } from '../support/watch-browser-pages.ts';

/**
 * Finding (newcomer trial, issue 14): `npm start` (`gatehouse serve --demo`) and the demo tenant's Services and
 * Toolsets pages said "Start the gateway with gatehouse serve to store it and change it here", to someone who had
 * done exactly that. A tenant is shown read-only because a secret of it is written as a value in the config (the
 * demo tenant's are), so the gateway does not store it; the pages now say so, and how to get a tenant to edit.
 */
const missing = chromiumMissing();
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const password = 'console-file-only-password-0123';

let gateway: TestGateway;
let chromium: RunningChromium | undefined;
let page: Page;
const browser = watchBrowserPages();

describe.skipIf(missing !== undefined)('console: a tenant the config file alone configures (Chromium)', () => {
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
            services: [
              {
                id: 'fake',
                openapi: description,
                baseUrl: 'http://127.0.0.1:9',
                auth: { type: 'apiKey', in: 'header', name: 'X-API-Key', value: 'a-secret-written-as-a-value' },
              },
            ],
            toolsets: [{ id: 'reader', tools: ['fake_getItem'] }],
          },
        ],
      },
      { live: { liveCheckMs: 100 } },
    );
    await addSignedUpUser(gateway.gateway.users!, 'acme', 'ada', password, 'owner');
    chromium = await launchChromium();
    page = await (await chromium.newContext()).newPage();
    browser.watch(page);
    await signInToConsole(page, gateway.url, '/console/acme/services', 'ada', password);
  }, 120_000);

  afterAll(async () => {
    expect(browser.problems).toEqual([]);
    await chromium?.close();
    await gateway?.close();
  });

  it('says why its services and toolsets cannot be changed here, and what to do instead', async () => {
    for (const section of ['services', 'toolsets']) {
      await page.goto(`${gateway.url}/console/acme/${section}`);
      const text = (await page.locator('main .empty').textContent()) ?? '';
      expect(text).toContain('written as a value');
      expect(text).toContain('${env:NAME}');
      expect(text).toContain('gatehouse serve --demo');
      expect(text).toContain('POST /api/v1/tenants');
      expect(text).not.toContain('Start the gateway with gatehouse serve');
    }
  });
});
