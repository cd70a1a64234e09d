import { describe, expect, it } from 'vitest';
import { cleanDescription } from './clean-description.ts';

describe('cleanDescription()', () => {
  it('strips markup, boilerplate and trailing blanks as before', () => {
    expect(
      cleanDescription(
        'Lists items.  \n\n\n<!-- hidden --><p>See <a href="x">the docs</a></p> ![logo](l.png) [link](https://x.y) &amp; more\t\nend',
        1000,
      ),
    ).toBe('Lists items.\n\nSee the docs\n  link & more\nend');
  });

  it('federated_description_quadratic_clean: a hostile description is cleaned in linear time', () => {
    const hostile = [
      `${' '.repeat(400_000)}x`,
      '<!--'.repeat(100_000),
      '!['.repeat(200_000),
      `![a](${'![a]('.repeat(60_000)}`,
      '['.repeat(400_000),
      `[a](${'[a]('.repeat(80_000)}`,
      '<a'.repeat(200_000),
      '<p'.repeat(200_000),
    ];
    for (const text of hostile) {
      const started = Date.now();
      cleanDescription(text, 1000);
      expect(Date.now() - started, text.slice(0, 12)).toBeLessThan(500);
    }
  });
});
