import { describe, expect, it } from 'vitest';
import { withoutPatterns } from './without-patterns.ts';

describe('withoutPatterns()', () => {
  it('drops pattern keywords at any depth, keeping a property named pattern and every data keyword', () => {
    const schema = {
      type: 'object',
      properties: {
        pattern: { type: 'string', pattern: '^(a+)+$', enum: ['^(a+)+$'] },
        list: { type: 'array', items: { type: 'string', pattern: 'x+' } },
        either: { anyOf: [{ type: 'string', pattern: 'y+' }, { type: 'number' }] },
      },
      $defs: { id: { type: 'string', pattern: '^[0-9]+$', default: 'pattern' } },
      propertyNames: { pattern: '^[a-z]+$' },
    };
    expect(withoutPatterns(schema)).toEqual({
      type: 'object',
      properties: {
        pattern: { type: 'string', enum: ['^(a+)+$'] },
        list: { type: 'array', items: { type: 'string' } },
        either: { anyOf: [{ type: 'string' }, { type: 'number' }] },
      },
      $defs: { id: { type: 'string', default: 'pattern' } },
      propertyNames: {},
    });
    expect(withoutPatterns(schema)).toBe(withoutPatterns(schema));
  });

  it('drops patternProperties with the additionalProperties that would refuse the names they admitted', () => {
    expect(
      withoutPatterns({
        type: 'object',
        patternProperties: { '^x-': { type: 'string' } },
        additionalProperties: false,
      }),
    ).toEqual({ type: 'object' });
  });

  it('admits anything below 200 levels instead of walking on', () => {
    let deep: Record<string, unknown> = { type: 'string', pattern: 'a+' };
    for (let i = 0; i < 5_000; i++) deep = { not: deep };
    expect(() => withoutPatterns(deep)).not.toThrow();
  });
});
