import type { Page } from 'playwright-core';

export interface BrowserPageWatch {
  /** Everything that went wrong in the watched pages: console errors, page errors, failed or refused requests. */
  readonly problems: string[];
  /** Starts recording what goes wrong in `page`. */
  watch(page: Page): void;
  /** The next 400 answer is one the test provokes on purpose (a form sent with bad input), not a problem. */
  expectRefusal(): void;
  /** Refusals expected but not seen yet (0 at the end of a suite). */
  pendingRefusals(): number;
}

/**
 * The browser suites' failure net: any console error, page error, failed request or answer of 400 and above in a
 * watched page is a problem, except the 400s a test announced with `expectRefusal` (and Chromium's "Failed to
 * load resource" line that each of them logs).
 */
export function watchBrowserPages(): BrowserPageWatch {
  const problems: string[] = [];
  let expected = 0;
  let logged = 0;
  return {
    problems,
    watch(page) {
      page.on('console', (message) => {
        if (message.type() !== 'error') return;
        if (logged > 0 && message.text().includes('status of 400')) {
          logged--;
          return;
        }
        problems.push(`console: ${message.text()} (${message.location().url})`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
      page.on('response', (response) => {
        if (response.status() === 400 && expected > 0) {
          expected--;
          logged++;
          return;
        }
        if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
      });
    },
    expectRefusal() {
      expected++;
    },
    pendingRefusals: () => expected,
  };
}
