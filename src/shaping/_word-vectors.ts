import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Read access to the word vectors of data/word-vectors.bin (built by scripts/build-word-vectors.ts). */
export interface WordVectors {
  readonly dimensions: number;
  /** The unit-length vector of a lower-case word, or undefined when the word is not among the known words. */
  vectorOf(word: string): Float32Array | undefined;
  /**
   * How much a word says about a text: a/(a + p(word)) with p from its frequency rank (Zipf), the smooth
   * inverse frequency of Arora et al. ("the" ~0, "refund" ~1). 1 for a word not known.
   */
  weightOf(word: string): number;
  /** Milliseconds the file took to read. */
  readonly loadMs: number;
}

/** The file, beside src/ and dist/ (both one folder deeper than the package root's data/). */
export const wordVectorsFile = resolve(import.meta.dirname, '..', '..', 'data', 'word-vectors.bin');

/** Words ranked below this by frequency weigh half (SIF's a / p(rank) = 1 at this rank). */
const halfWeightRank = 300;

let opened: WordVectors | null | undefined;

/**
 * The word vectors (GloVe 6B 100-d, the 100,000 most frequent words, int8), read once per process and shared by
 * every catalogue's index. Memory: the 10.5 MB file stays in memory (the vectors are views of it) plus a ~6 MB
 * word table, and each vector in use is cached as floats (~0.56 KB, at most 50,000); bench/s6b-search-holdout.ts
 * prints the load time and memory.
 * Undefined when the file is missing or unreadable: search then works without them.
 */
export function openWordVectors(file: string = wordVectorsFile): WordVectors | undefined {
  if (file === wordVectorsFile && opened !== undefined) return opened ?? undefined;
  const vectors = readWordVectors(file);
  if (file === wordVectorsFile) opened = vectors ?? null;
  return vectors;
}

function readWordVectors(file: string): WordVectors | undefined {
  const started = performance.now();
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const magic = 'GHWV1\n';
  if (bytes.toString('latin1', 0, magic.length) !== magic) {
    throw new Error(`${file}: not a word vectors file (expected it to start with GHWV1)`);
  }
  const headerLength = bytes.readUInt32LE(magic.length);
  const headerStart = magic.length + 4;
  const header = JSON.parse(bytes.toString('utf8', headerStart, headerStart + headerLength)) as {
    dimensions: number;
    count: number;
    words: string[];
  };
  const { dimensions, count, words } = header;
  const start = headerStart + headerLength;
  if (words.length !== count || bytes.length - start !== count * dimensions) {
    throw new Error(`${file}: ${count} words of ${dimensions} dimensions expected, the file is cut or damaged`);
  }
  const components = new Int8Array(bytes.buffer, bytes.byteOffset + start, count * dimensions);
  const rowOf = new Map<string, number>();
  for (const [row, word] of words.entries()) rowOf.set(word, row);
  const cache = new Map<string, Float32Array>();
  return {
    dimensions,
    loadMs: performance.now() - started,
    vectorOf(word) {
      const known = cache.get(word);
      if (known !== undefined) return known;
      const row = rowOf.get(word);
      if (row === undefined) return undefined;
      const vector = new Float32Array(dimensions);
      let norm = 0;
      for (let i = 0; i < dimensions; i++) {
        const x = components[row * dimensions + i] as number;
        vector[i] = x;
        norm += x * x;
      }
      const scale = 1 / Math.sqrt(norm);
      for (let i = 0; i < dimensions; i++) vector[i] = (vector[i] as number) * scale;
      // Bounded: catalogue words and the words of recent queries.
      if (cache.size > 50_000) cache.clear();
      cache.set(word, vector);
      return vector;
    },
    weightOf(word) {
      const row = rowOf.get(word);
      return row === undefined ? 1 : (row + 1) / (row + 1 + halfWeightRank);
    },
  };
}
