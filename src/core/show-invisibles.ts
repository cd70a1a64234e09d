/**
 * Control and format characters (C0/C1 controls other than newline and tab, bidi embeddings, overrides and
 * isolates, zero-width characters, soft hyphen, BOM, tag characters, line/paragraph separators): on a page they
 * would reorder or hide what a person reads (CP-04: `report\u202Efdp.exe` displays as `reportexe.pdf`).
 */
const invisible = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * Makes a caller-supplied text safe and honest to show: visible runs go through `escapeText`, and each invisible
 * character is replaced by `mark("U+202E")`, so a person sees that it is there and which one it is.
 */
export function showInvisibles(
  text: string,
  escapeText: (text: string) => string,
  mark: (label: string) => string,
): string {
  let out = '';
  let last = 0;
  for (const match of text.matchAll(invisible)) {
    const ch = match[0];
    if (ch === '\n' || ch === '\t') continue;
    out += escapeText(text.slice(last, match.index));
    const code = ch.codePointAt(0) as number;
    out += mark(`U+${code.toString(16).toUpperCase().padStart(4, '0')}`);
    last = match.index + ch.length;
  }
  return out + escapeText(text.slice(last));
}

/**
 * A remote party's text for a client to show (a federated tool's title or description): each invisible character as
 * `[U+202E]`, so a client's tool list or approval prompt cannot be reordered or hidden by it.
 */
export function markInvisibles(text: string): string {
  return showInvisibles(
    text,
    (visible) => visible,
    (label) => `[${label}]`,
  );
}
