import { describe, expect, it } from 'vitest';
import { showInvisibles } from './show-invisibles.ts';

const show = (text: string) =>
  showInvisibles(
    text,
    (t) => t.replaceAll('<', '&lt;'),
    (label) => `[${label}]`,
  );

describe('showInvisibles', () => {
  it('CP-04 (review finding 8d) marks bidi, zero-width, control and tag characters; keeps newlines, tabs and text', () => {
    expect(show('report\u202Efdp.exe')).toBe('report[U+202E]fdp.exe');
    expect(show('a\u2066b\u2069\u200B\u00AD\uFEFF\u0085\u007F\u0000')).toBe(
      'a[U+2066]b[U+2069][U+200B][U+00AD][U+FEFF][U+0085][U+007F][U+0000]',
    );
    expect(show('tag\u{E0041}')).toBe('tag[U+E0041]');
    expect(show('<b>\n\tü 日本')).toBe('&lt;b>\n\tü 日本');
  });
});
