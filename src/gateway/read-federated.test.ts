import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../core/index.ts';
import { completionValuesMax, toCompletion } from './read-federated.ts';

describe('toCompletion()', () => {
  it('keeps string values, total and hasMore as the server gave them', () => {
    expect(toCompletion({ values: ['a', 'b'], total: 5, hasMore: true }, 's')).toEqual({
      values: ['a', 'b'],
      total: 5,
      hasMore: true,
    });
    expect(toCompletion({ values: [] }, 's')).toEqual({ values: [] });
  });

  it('cuts more than 100 values and then says hasMore; drops a total below the values given', () => {
    const values = Array.from({ length: 101 }, (_, i) => String(i));
    expect(toCompletion({ values, hasMore: false }, 's')).toEqual({
      values: values.slice(0, completionValuesMax),
      hasMore: true,
    });
    expect(toCompletion({ values: ['a', 'b'], total: 1 }, 's')).toEqual({ values: ['a', 'b'] });
    expect(toCompletion({ values: ['a'], total: 1.5 }, 's')).toEqual({ values: ['a'] });
  });

  it('refuses an answer without a values array of strings as upstream_error', () => {
    for (const bad of [undefined, 'x', { values: 'a' }, { values: ['a', 1] }]) {
      let thrown: unknown;
      try {
        toCompletion(bad, 'linear');
      } catch (error) {
        thrown = error;
      }
      expect(isGatehouseError(thrown) && thrown.code).toBe('upstream_error');
    }
  });
});
