/**
 * OAuth scope arithmetic for tools. A tool's required scopes are alternatives (OpenAPI security requirement
 * semantics): the tool is covered when every scope of any one alternative is held. Providers declare
 * hierarchies (`repo` implies `public_repo`), honoured by expanding a set of scopes before comparing.
 */

/** A provider's scope hierarchy: a scope -> the narrower scopes it implies (applied transitively). */
export type ScopeImplications = Readonly<Record<string, readonly string[]>>;

/** Expands scopes with everything they imply, transitively (cycles in the declaration are harmless). */
export function expandScopes(scopes: Iterable<string>, implies: ScopeImplications): ReadonlySet<string> {
  const out = new Set<string>();
  const pending = [...scopes];
  while (pending.length > 0) {
    const scope = pending.pop() as string;
    if (out.has(scope)) continue;
    out.add(scope);
    const narrower = Object.hasOwn(implies, scope) ? implies[scope] : undefined;
    if (narrower) pending.push(...narrower);
  }
  return out;
}

/**
 * The scopes still missing for a tool: `undefined` when some alternative is fully held (or none is needed),
 * otherwise the missing scopes of the alternative that lacks the fewest (the first such in description order).
 */
export function findMissingScopes(
  alternatives: readonly (readonly string[])[],
  held: ReadonlySet<string>,
): readonly string[] | undefined {
  if (alternatives.length === 0) return undefined;
  let best: string[] | undefined;
  for (const alternative of alternatives) {
    const missing = alternative.filter((scope) => !held.has(scope));
    if (missing.length === 0) return undefined;
    if (best === undefined || missing.length < best.length) best = missing;
  }
  return best;
}

/**
 * The smallest-looking set of scopes to request at connect time so every given tool is covered: per tool the
 * alternative with the fewest scopes, unioned, minus scopes another requested scope already implies. Sorted.
 */
export function collectRequiredScopes(
  toolAlternatives: Iterable<readonly (readonly string[])[]>,
  implies: ScopeImplications,
): readonly string[] {
  const wanted = new Set<string>();
  for (const alternatives of toolAlternatives) {
    let smallest: readonly string[] | undefined;
    for (const alternative of alternatives) {
      if (smallest === undefined || alternative.length < smallest.length) smallest = alternative;
    }
    for (const scope of smallest ?? []) wanted.add(scope);
  }
  const implied = new Set<string>();
  for (const scope of wanted)
    for (const narrower of expandScopes([scope], implies)) if (narrower !== scope) implied.add(narrower);
  return [...wanted].filter((scope) => !implied.has(scope)).sort();
}
