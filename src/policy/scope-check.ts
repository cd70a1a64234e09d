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
 * otherwise the missing scopes of the alternative that lacks the fewest; of those tied, the first (description
 * order) that is not strictly broader than another under `implies`, as a first link would ask (`public_repo`, not
 * `repo`, which GitHub's pack lists first).
 */
export function findMissingScopes(
  alternatives: readonly (readonly string[])[],
  held: ReadonlySet<string>,
  implies: ScopeImplications = {},
): readonly string[] | undefined {
  return findEqualMissingScopes(alternatives, held, implies)?.[0];
}

/**
 * The missing scopes of each of a tool's equal alternatives (`equalAlternatives`: the operator listed the service's
 * scopes, so a link asks for every way to cover the tool among them): `undefined` when some alternative is fully
 * held, otherwise, of the alternatives lacking the fewest scopes, those not strictly broader than another, each
 * one's missing scopes, in description order.
 */
export function findEqualMissingScopes(
  alternatives: readonly (readonly string[])[],
  held: ReadonlySet<string>,
  implies: ScopeImplications,
): readonly (readonly string[])[] | undefined {
  if (alternatives.length === 0) return undefined;
  const missing = alternatives.map((alternative) => alternative.filter((scope) => !held.has(scope)));
  const fewest = Math.min(...missing.map((scopes) => scopes.length));
  if (fewest === 0) return undefined;
  const tied = alternatives.filter((_, i) => (missing[i] as readonly string[]).length === fewest);
  const narrow = new Set(withoutBroader(tied, implies));
  return alternatives.flatMap((alternative, i) => (narrow.has(alternative) ? [missing[i] as readonly string[]] : []));
}

/**
 * The smallest-looking set of scopes to request at connect time so every given tool is covered: per tool the
 * narrowest alternative (the first of `equalAlternatives`), or with `every` each of its equal alternatives (the
 * operator listed the service's scopes: Slack `channels:history` and `groups:history`), unioned, minus scopes
 * another requested scope already implies. Sorted.
 */
export function collectRequiredScopes(
  toolAlternatives: Iterable<readonly (readonly string[])[]>,
  implies: ScopeImplications,
  every = false,
): readonly string[] {
  const wanted = new Set<string>();
  for (const alternatives of toolAlternatives) {
    const equal = equalAlternatives(alternatives, implies);
    for (const alternative of every ? equal : equal.slice(0, 1)) for (const scope of alternative) wanted.add(scope);
  }
  const implied = new Set<string>();
  for (const scope of wanted)
    for (const narrower of expandScopes([scope], implies)) if (narrower !== scope) implied.add(narrower);
  return [...wanted].filter((scope) => !implied.has(scope)).sort();
}

/**
 * Of a tool's alternatives, the equally narrow ones, in description order: never one that strictly implies another
 * (`repo` when `public_repo` would do: asking the broad one grants private read/write for a read tool); of the rest,
 * those with the fewest scopes. The first is the one a link asks for.
 */
export function equalAlternatives(
  alternatives: readonly (readonly string[])[],
  implies: ScopeImplications,
): readonly (readonly string[])[] {
  const narrow = withoutBroader(alternatives, implies);
  const fewest = Math.min(...narrow.map((alternative) => alternative.length));
  return narrow.filter((alternative) => alternative.length === fewest);
}

/** The alternatives that do not strictly imply another of them, in order. */
function withoutBroader(
  alternatives: readonly (readonly string[])[],
  implies: ScopeImplications,
): readonly (readonly string[])[] {
  const expanded = alternatives.map((alternative) => expandScopes(alternative, implies));
  const covers = (i: number, j: number) => (alternatives[j] as readonly string[]).every((s) => expanded[i]?.has(s));
  return alternatives.filter((_, i) => !alternatives.some((__, j) => j !== i && covers(i, j) && !covers(j, i)));
}
