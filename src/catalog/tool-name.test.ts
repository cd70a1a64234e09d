import { describe, expect, it } from 'vitest';
import { toToolName } from './tool-name.ts';

const pattern = /^[a-zA-Z0-9_-]{1,64}$/;

describe('toToolName()', () => {
  const cases = [
    { service: 'github', key: 'repos_get', want: 'github_repos_get' },
    { service: 'my.api', key: 'get', want: 'my_api_get' },
  ];
  for (const given of cases) {
    it(`${given.service} + ${given.key} -> ${given.want}`, () => {
      expect(toToolName(given.service, given.key)).toBe(given.want);
    });
  }

  it('shortens an over-long name to 64 characters: readable prefix, underscore, 8 hex digits of its hash', () => {
    const key = 'actions_list_self_hosted_runners_for_a_repository_in_an_organization_with_labels';
    const name = toToolName('github', key);
    expect(name).toMatch(pattern);
    expect(name).toHaveLength(64);
    expect(name.startsWith('github_actions_list_self_hosted')).toBe(true);
    expect(name).toMatch(/_[0-9a-f]{8}$/);
    expect(toToolName('github', key)).toBe(name);
    expect(toToolName('github', `${key}_2`)).not.toBe(name);
  });
});
