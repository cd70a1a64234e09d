import { describe, expect, it } from 'vitest';
import { toToolResult, type UpstreamAnswer } from './to-tool-result.ts';

const secret = 'sk_test_Secret/Value+1234';
/** A raw-value scrubber (the real one, audit's createScrubber, looks for more encodings). */
const scrub = (text: string): string => text.split(secret).join('[REDACTED]');

function answer(text: string, withText = true): UpstreamAnswer {
  return {
    status: 200,
    contentType: 'application/json',
    body: Buffer.from(text),
    json: JSON.parse(text),
    ...(withText ? { jsonText: text } : {}),
  };
}

describe('toToolResult', () => {
  it('reuses a compact upstream JSON text as text and structuredJson, without serialising', () => {
    const text = '{"id":"item-42","tags":["a","b"],"quote":"say \\"hi\\"\\n"}';
    const result = toToolResult(answer(text), 'getItem', scrub);
    expect(result.text).toBe(text);
    expect(result.structuredJson).toBe(text);
    expect(result.structuredContent).toEqual(JSON.parse(text));
  });

  it('wraps a non-object JSON value as { result } in structuredJson too', () => {
    const result = toToolResult(answer('[1,2,{"a":true}]'), 'list', scrub);
    expect(result.structuredContent).toEqual({ result: [1, 2, { a: true }] });
    expect(JSON.parse(result.structuredJson as string)).toEqual(result.structuredContent);
  });

  it('serialises a pretty-printed body compactly (the model is not charged for indentation)', () => {
    const result = toToolResult(answer('{\n  "id": "item-42"\n}'), 'getItem', scrub);
    expect(result.text).toBe('{"id":"item-42"}');
    expect(result.structuredJson).toBeUndefined();
  });

  it('MC-10 redacts a secret echoed by the upstream in the fast and the slow path', () => {
    for (const text of [`{"echo":"${secret}"}`, `{\n"echo": "${secret}"\n}`]) {
      const result = toToolResult(answer(text), 'echo', scrub);
      expect(result.text).toBe('{"echo":"[REDACTED]"}');
      expect(result.structuredContent).toEqual({ echo: '[REDACTED]' });
      expect(result.structuredJson).toBeUndefined();
    }
  });

  it('MC-10 redacts a secret spelled with \\u or \\/ escapes (visible only once parsed)', () => {
    const unicode = `{"echo":"${secret.replace('s', '\\u0073')}"}`;
    const slashed = `{"echo":"${secret.replace('/', '\\/')}"}`;
    for (const text of [unicode, slashed]) {
      const result = toToolResult(answer(text), 'echo', scrub);
      expect(result.text).toBe('{"echo":"[REDACTED]"}');
      expect(result.structuredContent).toEqual({ echo: '[REDACTED]' });
    }
  });

  it('serialises json when no text is given', () => {
    const result = toToolResult(answer('{"a":1}', false), 'a', scrub);
    expect(result).toEqual({ structuredContent: { a: 1 }, text: '{"a":1}' });
  });

  it('throws upstream_error with a scrubbed excerpt for a non-2xx answer', () => {
    const failed = { ...answer(`{"error":"bad key ${secret}"}`), status: 401 };
    try {
      toToolResult(failed, 'getItem', scrub);
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe('upstream_error');
      expect(JSON.stringify((error as { details: unknown }).details)).not.toContain(secret);
      expect((error as Error).message).not.toContain(secret);
    }
  });

  it('puts the upstream explanation of a 4xx in the text the model reads, on one line', () => {
    const failed = { ...answer('{\n  "error": "task 7 does not exist"\n}'), status: 404 };
    try {
      toToolResult(failed, 'getTask', scrub);
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe('upstream_error');
      expect((error as Error).message).toMatch(/^Upstream answered HTTP 404 to getTask: .*task 7 does not exist/);
    }
  });
});
