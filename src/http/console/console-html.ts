import { escapeHtml } from '../../core/index.ts';
import { shownOnPage } from '../shown-on-page.ts';

/** Pieces every console page uses, so that forms, times and states look and behave the same everywhere. */

/** The session's CSRF token as the hidden field every console form must carry. */
export function csrfField(token: string): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(token)}">`;
}

/**
 * A form of one button posting `fields` and the CSRF token to `action`; `label` is HTML (escaped by the caller).
 * `confirm` makes the console script ask first (the form posts without the script too).
 */
export function postButton(
  action: string,
  csrf: string,
  fields: Readonly<Record<string, string>>,
  label: string,
  options: { readonly css?: string; readonly confirm?: string } = {},
): string {
  const confirm = options.confirm === undefined ? '' : ` data-confirm="${escapeHtml(options.confirm)}"`;
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  return `<form method="post" action="${escapeHtml(action)}" class="inline"${confirm}>${csrfField(csrf)}${hidden}<button type="submit" class="${escapeHtml(options.css ?? '')}">${label}</button></form>`;
}

/**
 * A secret an action just made (a key, a token, an invite link), shown once on the page that answers it with a
 * copy button: never stored, never in a URL, never shown again. `label` and `hint` are plain text.
 */
export function shownOnce(label: string, value: string, hint: string): string {
  return `<div class="secret" role="status"><strong>${shownOnPage(label, escapeHtml)}</strong> <code id="shown-once">${escapeHtml(value)}</code><button type="button" class="secondary" data-copy="shown-once">Copy</button><small>${shownOnPage(hint, escapeHtml)}</small></div>`;
}

/** A status word in a coloured pill (`badge-<word>` in the stylesheet). */
export function badge(word: string): string {
  const safe = escapeHtml(word);
  return `<span class="badge badge-${safe.replace(/[^a-z_]/g, '')}">${safe}</span>`;
}

/** A time (epoch ms or ISO string) as `YYYY-MM-DD HH:MM UTC` in a `<time>` element; `-` for none. */
export function timeOf(at: number | string | null | undefined): string {
  if (at === null || at === undefined) return '-';
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return '-';
  const iso = date.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)}</time>`;
}

/** What a page shows when it has nothing yet: what this is and what to do next (already-escaped HTML). */
export function emptyState(html: string): string {
  return `<p class="empty">${html}</p>`;
}

/** A table that scrolls sideways on a narrow screen and stacks its cells on a phone (`data-label` per cell). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map(
      (cells) =>
        `<tr>${cells.map((c, i) => `<td data-label="${escapeHtml(headers[i] ?? '')}">${c}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<div class="scroll"><table class="stack-on-phone"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}
