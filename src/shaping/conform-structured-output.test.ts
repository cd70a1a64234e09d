import { describe, expect, it } from 'vitest';
import { conformToOutput, matchesOutputSchema } from './conform-structured-output.ts';
import type { ShapedResult } from './shape-tool-result.ts';

const object = { outputSchema: { type: 'object', properties: { id: { type: 'integer' } } }, outputWrapped: false };
const wrapped = {
  outputSchema: { type: 'object', properties: { result: { type: 'array', items: { type: 'string' } } } },
  outputWrapped: true,
};

function shaped(structuredContent: Record<string, unknown> | undefined, text: string, handle?: string): ShapedResult {
  return {
    ...(structuredContent === undefined ? {} : { structuredContent }),
    text,
    tokens: 1,
    fullTokens: 1,
    ...(handle === undefined ? {} : { handle }),
  };
}

describe('matchesOutputSchema', () => {
  it('matches an object answer that validates, extra members allowed', () => {
    expect(matchesOutputSchema(object, { structuredContent: { id: 1, more: 'x' }, text: '{"id":1,"more":"x"}' })).toBe(
      true,
    );
    expect(matchesOutputSchema(object, { structuredContent: { id: 'one' }, text: '{"id":"one"}' })).toBe(false);
  });

  it('tells a wrapped array from an object answer: the kind must be the declared one', () => {
    expect(matchesOutputSchema(wrapped, { structuredContent: { result: ['a'] }, text: '["a"]' })).toBe(true);
    // An object answer with no `result` validates the wrapped schema but is not what it declares.
    expect(matchesOutputSchema(wrapped, { structuredContent: { other: 1 }, text: '{"other":1}' })).toBe(false);
    // An array answer (delivered as { result }) where an object was declared.
    expect(matchesOutputSchema(object, { structuredContent: { result: [1] }, text: '[1]' })).toBe(false);
  });

  it('never matches text or an empty answer', () => {
    expect(matchesOutputSchema(object, { text: 'plain words' })).toBe(false);
    expect(matchesOutputSchema(object, { structuredContent: { status: 204 }, text: 'HTTP 204, no content' })).toBe(
      false,
    );
  });
});

describe('conformToOutput', () => {
  it('keeps a matched result whole, its _nextPage hint and pre-serialised JSON included', () => {
    const result = { ...shaped({ id: 1, _nextPage: { page: 2 } }, '{"id":1}'), structuredJson: '{"id":1}' };
    expect(conformToOutput(object, result, true)).toBe(result);
  });

  it('replaces an unmatched answer by a _gatehouse note (keeping _nextPage), the text unchanged', () => {
    const out = conformToOutput(
      object,
      { ...shaped({ id: 'x', _nextPage: { page: 2 } }, '{"id":"x"}'), structuredJson: '{}' },
      false,
    );
    expect(out.text).toBe('{"id":"x"}');
    expect(out.structuredContent).toEqual({
      _gatehouse: { reason: 'unmatched', note: expect.any(String) },
      _nextPage: { page: 2 },
    });
    expect('structuredJson' in out).toBe(false);
  });

  it('keeps the summary of a result stored as a handle at the root, marked over_budget, matched or not', () => {
    const summary = { handle: 'rh_1', note: 'query it' };
    for (const matched of [true, false]) {
      const out = conformToOutput(object, shaped(summary, JSON.stringify(summary), 'rh_1'), matched);
      expect(out.structuredContent).toEqual({ ...summary, _gatehouse: { reason: 'over_budget' } });
      expect(out.handle).toBe('rh_1');
    }
  });

  it('moves the summary under _gatehouse when one of its members collides with a declared property', () => {
    const declaresNote = { outputSchema: { type: 'object', properties: { note: { type: 'integer' } } } };
    const summary = { handle: 'rh_1', note: 'query it' };
    const out = conformToOutput(declaresNote, shaped(summary, JSON.stringify(summary), 'rh_1'), true);
    expect(out.structuredContent).toEqual({ _gatehouse: { reason: 'over_budget', summary } });
  });
});
