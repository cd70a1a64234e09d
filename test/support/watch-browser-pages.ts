import type { Page } from 'playwright-core';

export interface BrowserPageWatch {
  /** Everything that went wrong in the watched pages: console errors, page errors, failed or refused requests. */
  readonly problems: string[];
  /** Starts recording what goes wrong in `page`. */
  watch(page: Page): void;
  /**
   * The next answer with `status` (default 400) is one the test provokes on purpose (a form sent with bad input, a
   * stale edit refused with 409), not a problem.
   */
  expectRefusal(status?: number): void;
  /** Refusals expected but not seen yet (0 at the end of a suite). */
  pendingRefusals(): number;
}

/**
 * The browser suites' failure net: any console error, page error, failed request or answer of 400 and above in a
 * watched page is a problem, except the answers a test announced with `expectRefusal` (and Chromium's "Failed to
 * load resource" line that each of them logs).
 */
export function watchBrowserPages(): BrowserPageWatch {
  const problems: string[] = [];
  /** Statuses announced by `expectRefusal` and not seen yet; those seen whose console line is still to come. */
  const expected: number[] = [];
  const logged: number[] = [];
  return {
    problems,
    watch(page) {
      page.on('console', (message) => {
        if (message.type() !== 'error') return;
        const index = logged.findIndex((status) => message.text().includes(`status of ${status}`));
        if (index !== -1) {
          logged.splice(index, 1);
          return;
        }
        problems.push(`console: ${message.text()} (${message.location().url})`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
      page.on('response', (response) => {
        const index = expected.indexOf(response.status());
        if (index !== -1) {
          expected.splice(index, 1);
          logged.push(response.status());
          return;
        }
        if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
      });
    },
    expectRefusal(status = 400) {
      expected.push(status);
    },
    pendingRefusals: () => expected.length,
  };
}
