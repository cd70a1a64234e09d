import { showInvisibles } from '../core/index.ts';

/** A caller-supplied value for an HTML page: escaped, invisible and bidi characters shown as marks (CP-04). */
export function shownOnPage(text: string, escapeHtml: (text: string) => string): string {
  return showInvisibles(text, escapeHtml, (mark) => `<mark class="ctl">${mark}</mark>`);
}
