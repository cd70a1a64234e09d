import { describe, expect, it } from 'vitest';
import { assignOperationKeys, toOperationKey } from './operation-key.ts';

describe('operation keys', () => {
  const cases = [
    { given: ['repos/get-content', 'GET', '/x'], want: 'repos_get-content' },
    { given: ['create pet!', 'POST', '/pets'], want: 'create_pet' },
    { given: [undefined, 'GET', '/pets/{id}/toys'], want: 'get_pets_id_toys' },
    { given: ['???', 'DELETE', '/'], want: 'delete' },
    { given: ['Déjà.vu', 'GET', '/'], want: 'D_j_vu' },
  ] as const;
  for (const { given, want } of cases) {
    it(`${String(given[0])} ${given[1]} ${given[2]} -> ${want}`, () => {
      expect(toOperationKey(given[0], given[1], given[2])).toBe(want);
    });
  }

  it('suffixes repeated keys in document order without taking a later plain key', () => {
    const ops = ['a', 'a', 'a_2', 'b'].map((operationId) => ({ operationId, method: 'GET', path: '/' }));
    expect(assignOperationKeys(ops)).toEqual(['a', 'a_3', 'a_2', 'b']);
    expect(assignOperationKeys(ops)).toEqual(assignOperationKeys(ops));
  });
});
