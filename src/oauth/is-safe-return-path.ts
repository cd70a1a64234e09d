/**
 * OA-10: whether a `return_to`-like value is a same-origin relative path that is safe to redirect to. Accepted:
 * `/` followed by path characters, an optional query, no fragment. Refused: anything absolute or scheme-relative
 * (`//evil`, `/\evil`, `https://...`), backslashes anywhere, control characters and whitespace, and any
 * percent-escape of `/`, `\` or `%` itself (`/%2F%2Fevil`, `/%5Cevil`, double encoding), which a browser or a
 * later decoder could turn into one of the refused forms.
 */
export function isSafeReturnPath(value: string): boolean {
  if (value.length === 0 || value.length > 2048) return false;
  if (value[0] !== '/' || value[1] === '/' || value[1] === '\\') return false;
  // Whitespace, backslashes and control characters (code points below 0x20 and 0x7f).
  if (/[\\\s]/.test(value) || value.includes('#') || [...value].some((c) => c < ' ' || c === '\u007f')) return false;
  if (/%(?:2f|5c|25|0[0-9a-f]|1[0-9a-f]|7f|20)/i.test(value)) return false;
  if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]+$/.test(value)) return false;
  try {
    const base = new URL('https://gatehouse.invalid/');
    return new URL(value, base).origin === base.origin;
  } catch {
    return false;
  }
}
