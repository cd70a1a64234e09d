import { describe, expect, it } from 'vitest';
import { toToolPage } from './to-tool-page.ts';

const secret = 'sk_live_0123456789abcdef';
// The scrubber of a call whose credential is `secret` (the real one lives in audit/, tested there).
const scrub = (text: string) =>
  text.split(secret).join('[REDACTED]').split(encodeURIComponent(secret)).join('[REDACTED]');

function answerOf(value: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(value);
  return {
    status: 200,
    contentType: 'application/json',
    body: Buffer.from(text),
    json: value,
    jsonText: text,
    headers,
  };
}

describe('toToolPage()', () => {
  it('RS-01 (review finding 2) scrubs the Link header and the JSON that pagination and merging read, once', () => {
    const link = `<https://api.example.com/items?page=2&api_key=${secret}>; rel="next"`;
    const page = toToolPage(
      answerOf({ items: [{ id: 1, echoed: secret }], next_cursor: `c-${secret}` }, { link, 'x-other': 'kept' }),
      'listItems',
      scrub,
    );
    expect(JSON.stringify(page)).not.toContain(secret);
    expect(page.headers['link']).toBe('<https://api.example.com/items?page=2&api_key=[REDACTED]>; rel="next"');
    expect(page.json).toEqual({ items: [{ id: 1, echoed: '[REDACTED]' }], next_cursor: 'c-[REDACTED]' });
    expect(page.result.text).toBe(JSON.stringify(page.json));
  });

  it('does no extra work when there is nothing to scrub: the answer objects are passed on as they are', () => {
    const answer = answerOf({ items: [{ id: 1 }] }, { 'content-type': 'application/json' });
    const page = toToolPage(answer, 'listItems', scrub);
    expect(page.headers).toBe(answer.headers);
    expect(page.json).toBe(answer.json);
    expect(page.result.structuredJson).toBe(answer.jsonText);
  });

  it('a text answer has no JSON for pagination', () => {
    const page = toToolPage(
      { status: 200, contentType: 'text/plain', body: Buffer.from(`token ${secret}`), headers: {} },
      'getText',
      scrub,
    );
    expect(page.json).toBeUndefined();
    expect(page.result.text).toBe('token [REDACTED]');
  });
});
