import { describe, expect, it } from 'vitest';
import type { GatehouseError, Tool } from '../core/index.ts';
import { compileArgumentConstraints } from './compile-argument-constraints.ts';
import { validateArguments } from './validate-arguments.ts';

const tool = {
  key: 'pay',
  operation: 'pay',
  inputSchema: {
    type: 'object',
    properties: {
      account: { type: 'string' },
      body: { $ref: '#/$defs/Payment' },
    },
    $defs: {
      Payment: {
        type: 'object',
        properties: {
          amount: { type: 'number' },
          currency: { type: 'string' },
          lines: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } } } },
        },
      },
    },
  },
} as unknown as Tool;

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as GatehouseError).code;
  }
}

describe('argument constraints', () => {
  const constraints = compileArgumentConstraints({
    'body.amount': { maximum: 100, minimum: 1 },
    'body.currency': { const: 'EUR' },
    account: { pattern: '^acct_[0-9]+$' },
    'body.lines': { maxItems: 2 },
    'body.lines[].sku': { enum: ['a', 'b'], maxLength: 1 },
  });

  it.each([
    [{ account: 'acct_1', body: { amount: 100, currency: 'EUR', lines: [{ sku: 'a' }] } }, undefined],
    [{ account: 'acct_1', body: { amount: 100.5, currency: 'EUR' } }, 'invalid_arguments'],
    [{ account: 'acct_1', body: { amount: 0, currency: 'EUR' } }, 'invalid_arguments'],
    [{ account: 'acct_1', body: { amount: 5 } }, 'invalid_arguments'], // a pinned value may not be left out
    [{ account: 'acct_1', body: { amount: 5, currency: 'USD' } }, 'invalid_arguments'],
    [{ account: '../1', body: { currency: 'EUR' } }, 'invalid_arguments'],
    [{ body: { currency: 'EUR', lines: [{ sku: 'a' }, { sku: 'b' }, { sku: 'a' }] } }, 'invalid_arguments'],
    [{ body: { currency: 'EUR', lines: [{ sku: 'c' }] } }, 'invalid_arguments'],
  ])('%j -> %s', (args, code) => {
    expect(codeOf(() => validateArguments(tool, args, constraints))).toBe(code);
  });

  it('the tool schema still applies (with its $defs references) and plain validation is unchanged', () => {
    expect(codeOf(() => validateArguments(tool, { body: { amount: 'x', currency: 'EUR' } }, constraints))).toBe(
      'invalid_arguments',
    );
    expect(codeOf(() => validateArguments(tool, { body: { amount: 1000 } }))).toBeUndefined();
  });

  it('equal constraint sets get the same key (one compiled validator); an empty set compiles to nothing', () => {
    const again = compileArgumentConstraints({
      'body.lines[].sku': { maxLength: 1, enum: ['a', 'b'] },
      'body.lines': { maxItems: 2 },
      account: { pattern: '^acct_[0-9]+$' },
      'body.currency': { const: 'EUR' },
      'body.amount': { minimum: 1, maximum: 100 },
    });
    expect(again?.key).toBeDefined();
    expect(compileArgumentConstraints({})).toBeUndefined();
  });
});
