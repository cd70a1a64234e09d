/**
 * Compiles toolset globs (`github_*`, `*_list?`) into one predicate over tool names. `*` matches any run of
 * characters, `?` one character; everything else is literal. Case-sensitive, like tool names.
 */
export function matchToolGlob(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return () => false;
  const source = globs
    .map((glob) =>
      glob
        .split('')
        .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join(''),
    )
    .join('|');
  const pattern = new RegExp(`^(?:${source})$`);
  return (name) => pattern.test(name);
}
