import { asRecord } from './import-context.ts';

/**
 * Server Object -> absolute base URL with `{variables}` replaced by their defaults and no trailing slash.
 * Undefined for a relative URL (the operator must configure one) or a variable without a default.
 */
export function transformServerObject(value: unknown): string | undefined {
  const server = asRecord(value);
  const template = server?.['url'];
  if (typeof template !== 'string') return undefined;
  const variables = asRecord(server?.['variables']) ?? {};
  let missing = false;
  const url = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const fallback = asRecord(variables[name])?.['default'];
    if (typeof fallback === 'string' || typeof fallback === 'number') return String(fallback);
    missing = true;
    return '';
  });
  if (missing || !/^[a-z][a-z0-9+.-]*:\/\/[^/]/i.test(url)) return undefined;
  return url.replace(/\/+$/, '');
}
