import { describe, expect, it } from 'vitest';
import { isSafeReturnPath } from './is-safe-return-path.ts';

describe('isSafeReturnPath()', () => {
  it.each([
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    '/%2F%2Fevil.example',
    '/%2f/evil.example',
    '/%5Cevil.example',
    '/%5cevil.example',
    '/%252F%252Fevil.example',
    '/\t/evil.example',
    '/ /evil.example',
    '/%09/evil.example',
    '/%0d%0aSet-Cookie:x',
    '/path#frag',
    'relative/path',
    '',
    '/é',
  ])('OA-10 refuses %j', (value) => {
    expect(isSafeReturnPath(value)).toBe(false);
  });

  it.each(['/', '/dashboard', '/tenants/acme/connections?tab=1&x=%20'.replace('%20', 'y'), '/a/b-c_d.e~f'])(
    'OA-10 accepts the same-origin path %j',
    (value) => {
      expect(isSafeReturnPath(value)).toBe(true);
    },
  );
});
