import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseBlockYaml } from './_block-yaml.ts';

const same = [
  "a: 1\nb: -2.5\nc: 1e3\nd: true\ne: ~\nf: null\ng: \"x: y\"\nh: 'it''s'\ni: 0x1F_not\n",
  'list:\n- a\n- b: 1\n  c: 2\n-\n  - nested\n- [x, "y", {z: 1}]\n- {}\n- []\n',
  'key:\n  - one # comment\n  - two\n# whole-line comment\nother: http://x.example/a#frag\n',
  'lit: |\n  line 1\n    indented\n\n  line 3\nkeep: |+\n  k\n\nstrip: |-\n  s\n\nnext: 1\n',
  'fold: >-\n  one\n  two\n\n  three\n    more\n  four\nclip: >\n  a\n  b\n',
  'plain: first\n  second\n\n  third\nq: "multi\n  line \\u00e9\\t end"\ns: \'one\n\n  two\'\n',
  '"200":\n  description: ok\n\'x y\': 1\n404: not found\n',
  '---\na: [1, 2]\n...\n',
  'empty:\nafter: 1\n',
];

describe('parseBlockYaml()', () => {
  for (const text of same) {
    it(`reads ${JSON.stringify(text.slice(0, 30))} like yaml does`, () => {
      const fast = parseBlockYaml(text);
      expect(fast).not.toBeUndefined();
      expect(fast).toEqual(parse(text, { version: '1.2' }));
    });
  }

  const declined = [
    'a: &x 1\nb: *x\n',
    'a: !!str 1\n',
    '? complex\n: key\n',
    'a: 1\n---\nb: 2\n',
    'a:\n\t- tab\n',
    'a: [1,\n  2]\n',
    '%YAML 1.2\n---\na: 1\n',
    'a: b: c\n',
    '__proto__: 1\n',
  ];
  for (const text of declined) {
    it(`declines ${JSON.stringify(text)} so the full parser decides`, () => {
      expect(parseBlockYaml(text)).toBeUndefined();
    });
  }
});
