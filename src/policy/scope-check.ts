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
 * narrowest alternative (`narrowestAlternative`), unioned, minus scopes another requested scope already implies.
 * Sorted.
 */
export function collectRequiredScopes(
  toolAlternatives: Iterable<readonly (readonly string[])[]>,
  implies: ScopeImplications,
): readonly string[] {
  const wanted = new Set<string>();
  for (const alternatives of toolAlternatives) {
    for (const scope of narrowestAlternative(alternatives, implies) ?? []) wanted.add(scope);
  }
  const implied = new Set<string>();
  for (const scope of wanted)
    for (const narrower of expandScopes([scope], implies)) if (narrower !== scope) implied.add(narrower);
  return [...wanted].filter((scope) => !implied.has(scope)).sort();
}

/**
 * Of a tool's alternatives, the one to ask for: never one that strictly implies another (`repo` when
 * `public_repo` would do: asking the broad one grants private read/write for a read tool); of the rest, the
 * fewest scopes, then the first listed.
 */
function narrowestAlternative(
  alternatives: readonly (readonly string[])[],
  implies: ScopeImplications,
): readonly string[] | undefined {
  const expanded = alternatives.map((alternative) => expandScopes(alternative, implies));
  const covers = (i: number, j: number) => (alternatives[j] as readonly string[]).every((s) => expanded[i]?.has(s));
  const broader = (i: number) => alternatives.some((_, j) => j !== i && covers(i, j) && !covers(j, i));
  let chosen: readonly string[] | undefined;
  alternatives.forEach((alternative, i) => {
    if (broader(i)) return;
    if (chosen === undefined || alternative.length < chosen.length) chosen = alternative;
  });
  return chosen;
}
