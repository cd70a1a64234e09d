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

/**
 * The patterns of every tenant but `tenantId` (the `tenants` known to the store plus those `tenantEnv` names), for
 * `refuseForeignEnvReferences`: default prefixes nest (`acme` reads `GATEHOUSE_TENANT_ACME_*`, which holds
 * `acme-eu`'s `GATEHOUSE_TENANT_ACME_EU_*`), so a name is the tenant's only when no other tenant claims it more
 * precisely.
 */
export function otherTenantEnvPatterns(
  tenantId: string,
  tenantIds: Iterable<string>,
  tenantEnv: Readonly<Record<string, readonly string[]>> | undefined,
): readonly string[] {
  const others = new Set([...tenantIds, ...Object.keys(tenantEnv ?? {})]);
  others.delete(tenantId);
  return [...others].flatMap((other) => tenantEnvPatterns(other, tenantEnv));
}

function matches(name: string, pattern: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/**
 * Whether `name` is the tenant's: a name its patterns list exactly (the operator said so), or one under its
 * prefixes that no other tenant's pattern claims at least as precisely (an exact name, or a prefix as long or
 * longer: a tenant whose default prefix equals another's, as `acme-eu` and `acme_eu` do, gets neither's names).
 */
function isOwnName(name: string, patterns: readonly string[], others: readonly string[]): boolean {
  if (patterns.includes(name)) return true;
  const own = patterns.filter((pattern) => pattern.endsWith('*') && matches(name, pattern));
  if (own.length === 0) return false;
  const precision = Math.max(...own.map((pattern) => pattern.length));
  return !others.some((pattern) => matches(name, pattern) && (!pattern.endsWith('*') || pattern.length >= precision));
}

/**
 * Refuses a write by a user of the tenant (not the operator) that introduces a `${env:NAME}` the tenant may not
 * read: the process environment is the operator's (the master key, other tenants' secrets), and a reference is
 * filled into any string, so a header or a description could carry it to an upstream or the model. A name already
 * in the tenant's current document is allowed; so is one its patterns cover, unless another tenant's patterns
 * (`others`, see `otherTenantEnvPatterns`) claim it at least as precisely. Decided on the name alone, before
 * anything reads the environment, so the answer is the same whether the variable is set or not.
 */
export function refuseForeignEnvReferences(
  tenantId: string,
  next: unknown,
  current: unknown,
  patterns: readonly string[],
  others: readonly string[],
): void {
  const known = new Set(findEnvReferences(current).map((r) => r.name));
  const foreign = findEnvReferences(next).find((r) => !known.has(r.name) && !isOwnName(r.name, patterns, others));
  if (foreign === undefined) return;
  const claimed = patterns.some((pattern) => matches(foreign.name, pattern));
  throw new GatehouseError(
    'config_invalid',
    claimed
      ? `${foreign.path}: \${env:${foreign.name}} is not allowed for tenant ${tenantId}: it falls under another tenant's names, which nest inside this tenant's (the operator can list it in tenantEnv)`
      : `${foreign.path}: \${env:${foreign.name}} is not allowed for tenant ${tenantId}; its users may reference ${patterns.length === 0 ? 'no new names' : patterns.join(', ')} (the operator's tenantEnv setting) or names its configuration already uses`,
    { path: foreign.path },
  );
}
