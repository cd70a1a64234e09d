import { describe, expect, it } from 'vitest';
import { createScrubber } from './create-scrubber.ts';

const b64 = (text: string) => Buffer.from(text, 'base64').toString('latin1');
const percentDecoded = (text: string) =>
  text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

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

  it('MC-10 (breaker finding 6) removes a secret whose slashes the upstream escaped as \\/ (PHP json_encode)', () => {
    const key = 'sk_live/4f9Qz+Ab/Xy7=kP2w';
    const scrub = createScrubber([key]);
    const echoed = `{"echo":"${key.replaceAll('/', '\\/')}"}`;
    expect(echoed).toContain('sk_live\\/4f9Qz');
    expect(scrub(echoed)).toBe('{"echo":"[REDACTED]"}');
    const nested = JSON.stringify(JSON.stringify({ k: key })).replaceAll('/', '\\/');
    expect(scrub(nested)).not.toContain('4f9Qz');
  });

  it('RS-01 (review finding 2b, 2c) removes a secret from a Link URL and from base64 cursors of raw, URL-encoded and JSON-escaped text', () => {
    const symbols = 'cs0123+ab/cd=ef%gh"ij\\kl';
    const scrub = createScrubber([symbols]);
    const encoded = encodeURIComponent(symbols);
    const cursors = [
      `https://api.example.com/v1/items?page=2&api_key=${encoded}`,
      `<https://api.example.com/v1/items?page=2&token=${encodeURIComponent(`Bearer ${symbols}`)}>; rel="next"`,
      `https://api.example.com/v1/items?next=${encodeURIComponent(`https://api.example.com/v1/items?api_key=${encoded}`)}`,
    ];
    for (const prefix of ['page=2&auth=', 'page=10&auth=', 'p=2&auth=']) {
      for (const inner of [symbols, encoded, JSON.stringify(symbols).slice(1, -1)]) {
        cursors.push(Buffer.from(`${prefix}${inner}`).toString('base64'));
        cursors.push(Buffer.from(`${prefix}${inner}&x=1`).toString('base64url'));
      }
    }
    for (const cursor of cursors) {
      const out = scrub(`{"next_cursor":"${cursor}"}`);
      expect(out, cursor).toContain('[REDACTED]');
      const left = out.slice(out.indexOf('"next_cursor":"') + 15, -2);
      // What is left around the marker decodes to no part of the secret (no 8-character window of it).
      for (const piece of left.split('[REDACTED]')) {
        const decoded = [piece, percentDecoded(piece), b64(piece)];
        for (let i = 0; i + 8 <= symbols.length; i++) {
          for (const text of decoded) expect(text, cursor).not.toContain(symbols.slice(i, i + 8));
        }
      }
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
