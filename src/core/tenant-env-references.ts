import { envReference, formatPath } from './config.ts';
import { GatehouseError } from './errors.ts';

/** Every `${env:NAME}` in a document, with the field path of the string that holds it. */
export function findEnvReferences(document: unknown): { readonly name: string; readonly path: string }[] {
  const found: { name: string; path: string }[] = [];
  const visit = (node: unknown, path: (string | number)[]) => {
    if (typeof node === 'string') {
      for (const match of node.matchAll(envReference)) found.push({ name: match[1] as string, path: formatPath(path) });
    } else if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) visit(item, [...path, i]);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) visit(value, [...path, key]);
    }
  };
  visit(document, []);
  return found;
}

/**
 * The variable names a user of `tenantId` may reference: the operator's `tenantEnv[tenantId]` (names, or prefixes
 * ending in `*`), else the prefix `GATEHOUSE_TENANT_<ID>_*` (the id upper-cased, other characters as `_`).
 */
export function tenantEnvPatterns(
  tenantId: string,
  tenantEnv: Readonly<Record<string, readonly string[]>> | undefined,
): readonly string[] {
  return tenantEnv?.[tenantId] ?? [`GATEHOUSE_TENANT_${tenantId.toUpperCase().replaceAll(/[^A-Z0-9]/g, '_')}_*`];
}

function matches(name: string, pattern: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/**
 * Refuses a write by a user of the tenant (not the operator) that introduces a `${env:NAME}` the tenant may not
 * read: the process environment is the operator's (the master key, other tenants' secrets), and a reference is
 * filled into any string, so a header or a description could carry it to an upstream or the model. A name already
 * in the tenant's current document, or matching its patterns, is allowed. Decided on the name alone, before
 * anything reads the environment, so the answer is the same whether the variable is set or not.
 */
export function refuseForeignEnvReferences(
  tenantId: string,
  next: unknown,
  current: unknown,
  patterns: readonly string[],
): void {
  const known = new Set(findEnvReferences(current).map((r) => r.name));
  const foreign = findEnvReferences(next).find(
    (r) => !known.has(r.name) && !patterns.some((pattern) => matches(r.name, pattern)),
  );
  if (foreign === undefined) return;
  throw new GatehouseError(
    'config_invalid',
    `${foreign.path}: \${env:${foreign.name}} is not allowed for tenant ${tenantId}; its users may reference ${patterns.length === 0 ? 'no new names' : patterns.join(', ')} (the operator's tenantEnv setting) or names its configuration already uses`,
    { path: foreign.path },
  );
}
