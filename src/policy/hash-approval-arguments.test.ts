import { describe, expect, it } from 'vitest';
import { hashApprovalArguments } from './hash-approval-arguments.ts';

describe('hashApprovalArguments', () => {
  it('SC-05 key order does not change the hash; any value, nesting or array order does', () => {
    const a = hashApprovalArguments({ b: 1, a: { y: [1, 2], x: 'é' } });
    expect(hashApprovalArguments({ a: { x: 'é', y: [1, 2] }, b: 1 })).toEqual(a);
    expect(a.json).toBe('{"a":{"x":"é","y":[1,2]},"b":1}');
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    for (const other of [
      { b: 2, a: { y: [1, 2], x: 'é' } },
      { b: 1, a: { y: [2, 1], x: 'é' } },
      { b: 1 },
      { b: '1', a: { y: [1, 2], x: 'é' } },
    ]) {
      expect(hashApprovalArguments(other).hash).not.toBe(a.hash);
    }
    expect(hashApprovalArguments(undefined)).toEqual(hashApprovalArguments({}));
  });
});
