const secretParameter = /pass|secret|token|key/i;

/**
 * A store URL safe to put into a message or a log: the password and any secret-looking query parameter become
 * `***`. A URL that cannot be parsed keeps only its scheme, since a password in it could not be located.
 */
export function redactStoreUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url;
  const text = hideMisreadPassword(url);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '';
    return `${scheme}//***`;
  }
  let changed = text !== url;
  if (parsed.password !== '' && parsed.password !== '***') {
    parsed.password = '***';
    changed = true;
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParameter.test(name)) {
      parsed.searchParams.set(name, '***');
      changed = true;
    }
  }
  return changed ? parsed.toString() : text;
}

/**
 * A password written unencoded with `/`, `#` or `?` (`postgres://gh:123/s3cret@db/gh`) parses as a host, a port and
 * a path, fragment or query: the URL has no password to replace, and would be printed whole. When it parses without
 * a password but a `:` follows the scheme's `//` before the last `@`, everything between them is hidden (at worst a
 * port and path before an `@` in a parameter, which a message can do without).
 */
function hideMisreadPassword(url: string): string {
  const start = url.indexOf('://');
  const at = url.lastIndexOf('@');
  if (start < 0 || at < start) return url;
  try {
    if (new URL(url).password !== '') return url;
  } catch {
    return url;
  }
  const colon = url.indexOf(':', start + 3);
  if (colon < 0 || colon > at) return url;
  return `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}
