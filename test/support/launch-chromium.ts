import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); `GATEHOUSE_TEST_CHROMIUM` points elsewhere. */
export const chromiumPath = process.env['GATEHOUSE_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

/** Where browser suites write screenshots (gitignored): `test-results/` at the repository root. */
export const screenshotDir = fileURLToPath(new URL('../../test-results/', import.meta.url));

/**
 * Why browser suites cannot run here, or undefined when Chromium is installed. In CI (`CI=true`) a missing
 * Chromium is an error, not a skip: the pages are tested only in a real browser, and a suite that silently skipped
 * would report them as working. `.ci/run` installs it.
 */
export function chromiumMissing(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  const reason = `Chromium not found at ${chromiumPath} (apt-get install chromium, or set GATEHOUSE_TEST_CHROMIUM)`;
  if (process.env['CI'] === 'true') throw new Error(`browser suites need a browser in CI: ${reason}`);
  console.warn(`skipping browser suite: ${reason}`);
  return reason;
}

export interface RunningChromium {
  readonly browser: Browser;
  /** A fresh context (its own cookies): one per person in a test. */
  newContext(): Promise<BrowserContext>;
  /** Saves a full-page screenshot to `test-results/<name>.png` and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium through playwright-core. Each launch gets a fresh temporary user-data folder
 * (playwright creates and removes it), and nothing a test opens leaves 127.0.0.1.
 */
export async function launchChromium(
  /** `ignoreHTTPSErrors`: pages on 127.0.0.1 with a certificate made for the test. */
  options: { ignoreHTTPSErrors?: boolean } = {},
): Promise<RunningChromium> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async newContext() {
      const context = await browser.newContext(options);
      // Pages here answer in milliseconds; a missing button should fail the test quickly, not after 30 s.
      context.setDefaultTimeout(10_000);
      return context;
    },
    async screenshot(page, name) {
      mkdirSync(screenshotDir, { recursive: true });
      const path = join(screenshotDir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await browser.close();
    },
  };
}
