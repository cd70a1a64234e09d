import { describe, expect, it } from 'vitest';
import { createScrubber } from './create-scrubber.ts';

describe('createScrubber', () => {
  const secret = 'sk_live_"ab\\cd/ef+gh=ij';

  it('LG-05/06 removes every occurrence of a secret with " and \\ raw, JSON-escaped, URL-encoded, base64(url)', () => {
    const scrub = createScrubber([secret]);
    const forms = [
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      Buffer.from(secret).toString('base64').replace(/=+$/, ''),
      Buffer.from(secret).toString('base64url'),
    ];
    for (const form of forms) {
      const out = scrub(`a ${form} b ${form} c`);
      expect(out).not.toContain(form);
      expect(out.split('[REDACTED]')).toHaveLength(3);
    }
  });

  it('removes a longer secret whole before a shorter one it contains', () => {
    expect(createScrubber(['abcdefgh', 'abcdefgh-longer'])('x abcdefgh-longer y abcdefgh')).toBe(
      'x [REDACTED] y [REDACTED]',
    );
  });

  it('leaves text alone when there is nothing to hide or the secret is too short', () => {
    expect(createScrubber([])('abc')).toBe('abc');
    expect(createScrubber(['short'])('a short text')).toBe('a short text');
  });

  it('behaves the same when served from its cache, and for more secrets than the cache holds', () => {
    const first = createScrubber([secret]);
    const again = createScrubber([secret]);
    expect(again(`x ${secret}`)).toBe(first(`x ${secret}`));
    for (let i = 0; i < 300; i++) {
      const value = `rotating-token-${i}-value`;
      expect(createScrubber([value, 'other-secret'])(`${value} other-secret`)).toBe('[REDACTED] [REDACTED]');
    }
    expect(createScrubber([secret])(`x ${secret}`)).toBe('x [REDACTED]');
  });

  it('does not mix up lists whose joined values could collide', () => {
    expect(createScrubber(['abcdefgh\u0000ijklmnop'])('abcdefgh ijklmnop')).toBe('abcdefgh ijklmnop');
    expect(createScrubber(['abcdefgh', 'ijklmnop'])('abcdefgh ijklmnop')).toBe('[REDACTED] [REDACTED]');
  });
});
