import { matchToolGlob } from './match-tool-glob.ts';

/**
 * The one precedence rule of every config map keyed by tool globs (`policy.safety`, `policy.constraints`,
 * `limits.toolRateLimits`, `results.toolBudgets`): the most specific matching glob wins, so the order of the keys
 * never matters (a document stored as PostgreSQL `jsonb` does not keep it). Most specific: an exact name over any
 * glob; then more literal characters; then fewer `*`; then the glob itself in code-point order, so ties are stable.
 *
 * Returns, for a tool name, the values of every matching glob from the least to the most specific (a merging map
 * such as `constraints` applies them in that order); `pickByGlob(map)(name).at(-1)` is the winner.
 */
export function pickByGlob<T>(map: Readonly<Record<string, T>>): (name: string) => T[] {
  const entries = Object.entries(map)
    .map(([glob, value]) => ({ glob, value, matches: matchToolGlob([glob]), rank: rankOf(glob) }))
    .sort((a, b) => compareRanks(a.rank, b.rank) || (a.glob < b.glob ? 1 : a.glob > b.glob ? -1 : 0));
  return (name) => entries.filter((entry) => entry.matches(name)).map((entry) => entry.value);
}

/** The value of the most specific glob of `map` matching `name` (see `pickByGlob`). */
export function mostSpecificByGlob<T>(map: Readonly<Record<string, T>>): (name: string) => T | undefined {
  const pick = pickByGlob(map);
  return (name) => pick(name).at(-1);
}

interface GlobRank {
  readonly exact: boolean;
  readonly literals: number;
  readonly stars: number;
}

function rankOf(glob: string): GlobRank {
  const stars = [...glob].filter((ch) => ch === '*').length;
  const questions = [...glob].filter((ch) => ch === '?').length;
  return { exact: stars + questions === 0, literals: glob.length - stars - questions, stars };
}

/** Negative when `a` is less specific than `b`. */
function compareRanks(a: GlobRank, b: GlobRank): number {
  if (a.exact !== b.exact) return a.exact ? 1 : -1;
  if (a.literals !== b.literals) return a.literals - b.literals;
  return b.stars - a.stars;
}
