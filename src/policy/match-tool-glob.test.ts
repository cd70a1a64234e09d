import { describe, expect, it } from 'vitest';
import { matchToolGlob } from './match-tool-glob.ts';

describe('matchToolGlob', () => {
  it.each([
    [['github_*'], 'github_repos_get', true],
    [['github_*'], 'gitlab_repos_get', false],
    [['*_list?'], 'tasks_lists', true],
    [['*_list?'], 'tasks_list', false],
    [['a.b'], 'aXb', false],
    [['tasks_getTask', 'tasks_listTasks'], 'tasks_listTasks', true],
    [[], 'anything', false],
  ])('%j matches %s: %s', (globs, name, expected) => {
    expect(matchToolGlob(globs)(name)).toBe(expected);
  });
});
