import { describe, expect, it } from 'vitest';
import { mostSpecificByGlob, pickByGlob } from './pick-by-glob.ts';

describe('pickByGlob', () => {
  it('picks the exact name over any glob, whatever the key order', () => {
    const pick = mostSpecificByGlob({ '*': 1, github_delete_repo: 3, 'github_*': 2 });
    expect(pick('github_delete_repo')).toBe(3);
    expect(pick('github_list_repos')).toBe(2);
    expect(pick('stripe_list')).toBe(1);
    expect(pick('x')).toBe(1);
  });

  it('prefers more literal characters, then fewer wildcards', () => {
    const pick = mostSpecificByGlob({ 'github_*_repo': 'a', 'github_*': 'b', '*_repo': 'c' });
    expect(pick('github_delete_repo')).toBe('a');
    expect(mostSpecificByGlob({ 'a*b*': 1, 'ab*': 2 })('abb')).toBe(2);
  });

  it('gives the same answer for every order of the keys', () => {
    const entries: [string, number][] = [
      ['*', 0],
      ['github_*', 1],
      ['*_repo', 2],
      ['github_???_repo', 3],
    ];
    const forward = mostSpecificByGlob(Object.fromEntries(entries));
    const backward = mostSpecificByGlob(Object.fromEntries([...entries].reverse()));
    for (const name of ['github_get_repo', 'github_list', 'x_repo', 'y']) expect(forward(name)).toBe(backward(name));
  });

  it('lists every match from least to most specific (for merging maps)', () => {
    expect(pickByGlob({ 'github_*': 'glob', '*': 'all', github_x: 'exact' })('github_x')).toEqual([
      'all',
      'glob',
      'exact',
    ]);
    expect(pickByGlob({ 'github_*': 1 })('stripe_x')).toEqual([]);
  });
});
