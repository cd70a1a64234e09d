const secretParameter = /pass|secret|token|key/i;

/**
 * A store URL safe to put into a message or a log: the password and any secret-looking query parameter become
 * `***`. A URL that cannot be parsed keeps only its scheme, since a password in it could not be located.
 */
export function redactStoreUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '';
    return `${scheme}//***`;
  }
  let changed = false;
  if (parsed.password !== '') {
    parsed.password = '***';
    changed = true;
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParameter.test(name)) {
      parsed.searchParams.set(name, '***');
      changed = true;
    }
  }
  return changed ? parsed.toString() : url;
}
