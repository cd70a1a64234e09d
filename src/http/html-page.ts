import type { ServerResponse } from 'node:http';
import { escapeHtml } from '../core/index.ts';
import { shownOnPage } from './shown-on-page.ts';

/**
 * The gateway's pages (connect, approval, sign-in, consent, errors) share one HTML shell, one way to show a value
 * that came from outside, and their security headers; each page keeps its own style and body.
 */

/** A caller-, provider- or user-supplied value for a page: escaped, invisible and bidi characters marked (CP-04). */
export function shown(text: string): string {
  return shownOnPage(text, escapeHtml);
}

/** A page's title with outside parts: for the tab (plain text) and the heading (HTML, already `shown`). */
export interface PageTitle {
  readonly text: string;
  readonly html: string;
}

/** How a marked invisible character looks on every page. */
const markStyle = 'mark.ctl{background:#ffd54f;color:#000;border-radius:3px;padding:0 2px;font-size:.85em}';

/** A page that posts nothing: never cached, framed, sniffed or scripted, and sending no referrer. */
export const pageHeaders: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
};

/**
 * A page that posts a form to the gateway: `form-action 'self'`, and `same-origin` so Chromium sends a real Origin
 * with the post (under `no-referrer` it sends `Origin: null`, CP-02); the page's URL still never leaves the origin.
 */
export const formPageHeaders: Readonly<Record<string, string>> = {
  ...pageHeaders,
  'referrer-policy': 'same-origin',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

/** A whole page: `title` in the tab (escaped) and as its heading (a string is `shown`), then `body` (HTML). */
export function renderHtmlPage(title: string | PageTitle, css: string, body: string): string {
  const heading = typeof title === 'string' ? { text: title, html: shown(title) } : title;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(heading.text)} - Gatehouse</title>
<style>${css}${markStyle}</style>
</head><body><h1>${heading.html}</h1>${body}</body></html>`;
}

/** Answers a rendered page with `headers` (`pageHeaders`, `formPageHeaders`, or the page's own). */
export function writeHtmlPage(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Readonly<Record<string, string>>,
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}
