import { describe, expect, it } from 'vitest';
import { createOriginCheck } from './create-origin-check.ts';

const check = createOriginCheck({ publicUrl: 'https://gw.example.com', allowedOrigins: [] });
const codeOf = (headers: Record<string, string>) => check({ host: 'gw.example.com', ...headers })?.code ?? 'pass';

describe('createOriginCheck and Origin: null', () => {
  it('CP-02 (issue 10 item 1) Origin: null passes only with the browser-set Sec-Fetch-Site: same-origin', () => {
    expect(codeOf({ origin: 'null', 'sec-fetch-site': 'same-origin' })).toBe('pass');
    expect(codeOf({ origin: 'null', 'sec-fetch-site': 'cross-site' })).toBe('forbidden_origin');
    expect(codeOf({ origin: 'null', 'sec-fetch-site': 'same-site' })).toBe('forbidden_origin');
    expect(codeOf({ origin: 'null' })).toBe('forbidden_origin');
    expect(codeOf({ origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' })).toBe('forbidden_origin');
    expect(codeOf({ origin: 'https://gw.example.com' })).toBe('pass');
  });
});
