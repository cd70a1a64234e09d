/**
 * The word rule of the issue-15 query sets: a query may share at most one content word with its expected
 * operation's summary. Deliberately independent of the search's own tokenizer and stemmer
 * (src/shaping/create-tool-search-index.ts), so that changing the system under test cannot change which queries
 * the rule admits.
 *
 * Content words: lower-cased runs of letters and digits (any script), possessive `'s` dropped, minus the stop
 * words below, each reduced by a light suffix stemmer (plural and verb endings, then a final `e`), so
 * "creates", "created", "creating" and "create" are one word.
 */
const stopWords = new Set(
  `a an the of for to in on at by with from and or not no this that these those it its is are be been being was
  were am i me my mine we us our you your he him his she her they them their there here then than so as if but
  into onto about over under up down out off all any some each every which what who whom whose where when why how
  can could would should will shall may might must do does did doing done have has had having just now still
  also too very only own same please via`.split(/\s+/),
);

/** The stem of one lower-cased word. */
export function stemWord(word: string): string {
  let w = word;
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us')) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

/** The distinct stemmed content words of a text. */
export function contentWords(text: string): Set<string> {
  const words = text
    .toLowerCase()
    .replace(/['’]s\b/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0 && !stopWords.has(word));
  return new Set(words.map(stemWord));
}

/** The content words (stems) `query` shares with `summary`, sorted. */
export function sharedContentWords(query: string, summary: string): string[] {
  const summaryWords = contentWords(summary);
  return [...contentWords(query)].filter((word) => summaryWords.has(word)).sort();
}
