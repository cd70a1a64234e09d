import { describe, expect, it } from 'vitest';
import {
  collectRequiredScopes,
  equalAlternatives,
  expandScopes,
  findEqualMissingScopes,
  findMissingScopes,
} from './scope-check.ts';

const implies = { repo: ['public_repo', 'repo:status'], admin: ['repo'] };

describe('scope checks', () => {
  it('expandScopes follows a hierarchy transitively and survives cycles', () => {
    expect([...expandScopes(['admin'], implies)].sort()).toEqual(['admin', 'public_repo', 'repo', 'repo:status']);
    expect([...expandScopes(['a'], { a: ['b'], b: ['a'] })].sort()).toEqual(['a', 'b']);
    expect([...expandScopes(['constructor'], implies)]).toEqual(['constructor']);
  });

  it('findMissingScopes is undefined when any alternative is held, else the smallest shortfall', () => {
    expect(findMissingScopes([], new Set())).toBeUndefined();
    expect(findMissingScopes([['a', 'b'], ['c']], new Set(['c']))).toBeUndefined();
    expect(
      findMissingScopes(
        [
          ['a', 'b', 'x'],
          ['c', 'd'],
        ],
        new Set(['a', 'b']),
      ),
    ).toEqual(['x']);
    expect(findMissingScopes([['send', 'read']], new Set(['read']))).toEqual(['send']);
    expect(findMissingScopes([['a'], ['b']], new Set())).toEqual(['a']);
  });

  it('collectRequiredScopes takes the smallest alternative per tool and drops implied scopes', () => {
    expect(collectRequiredScopes([[['repo']], [['public_repo']], [['read:org', 'x'], ['user']]], implies)).toEqual([
      'repo',
      'user',
    ]);
    expect(collectRequiredScopes([[], [['b']], [['a']]], {})).toEqual(['a', 'b']);
  });

  it('github_readonly_asks_repo: of alternatives, the narrowest (one implied by another), never the broadest', () => {
    // GitHub's read tools accept `repo | public_repo`; `repo` grants private read/write and implies `public_repo`.
    expect(collectRequiredScopes([[['repo'], ['public_repo']]], implies)).toEqual(['public_repo']);
    expect(collectRequiredScopes([[['admin'], ['repo']]], implies)).toEqual(['repo']);
    // Unrelated alternatives of equal size: the first listed.
    expect(collectRequiredScopes([[['x'], ['y']]], implies)).toEqual(['x']);
  });

  it('equalAlternatives: the alternatives none implies another of and with the fewest scopes, in order', () => {
    expect(equalAlternatives([['x'], ['y'], ['z', 'w']], {})).toEqual([['x'], ['y']]);
    expect(equalAlternatives([['repo'], ['public_repo']], implies)).toEqual([['public_repo']]);
    expect(equalAlternatives([], {})).toEqual([]);
  });

  it('collectRequiredScopes with every: each equal alternative (Slack public and private channels)', () => {
    const history = [['channels:history'], ['groups:history']];
    expect(collectRequiredScopes([history], {}, true)).toEqual(['channels:history', 'groups:history']);
    expect(collectRequiredScopes([history], {})).toEqual(['channels:history']);
    // Never the broader of two, nor a longer alternative.
    expect(
      collectRequiredScopes(
        [
          [['repo'], ['public_repo']],
          [['a'], ['b', 'c']],
        ],
        implies,
        true,
      ),
    ).toEqual(['a', 'public_repo']);
  });

  it('findEqualMissingScopes: each way lacking the fewest scopes, none broader than another; undefined when held', () => {
    const history = [['channels:history'], ['groups:history']];
    expect(findEqualMissingScopes(history, new Set(['groups:history']), {})).toBeUndefined();
    expect(findEqualMissingScopes(history, new Set(), {})).toEqual([['channels:history'], ['groups:history']]);
    expect(findEqualMissingScopes([['repo'], ['public_repo']], new Set(), implies)).toEqual([['public_repo']]);
    // One scope short of [a, b] beats two short of [c, d].
    expect(findEqualMissingScopes([['a', 'b'], ['c', 'd'], ['e']], new Set(['a']), {})).toEqual([['b'], ['e']]);
    expect(findEqualMissingScopes([], new Set(), {})).toBeUndefined();
  });
});
