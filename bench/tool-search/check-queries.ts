/**
 * Checks the issue-15 query sets (bench/tool-search/queries.{tune,holdout}.json) against the descriptions in
 * ../shared/specs: every expected and alternative tool exists in its API's catalogue, no query is repeated, each
 * query sits in the split the fixed rule assigns it (query-set.ts), and each query shares at most one content
 * word with its expected operation's summary (content-words.ts). Exits 1 naming every offending query.
 * Skips with exit 0 when ../shared/specs is absent. Runs no search.
 *
 *   npx tsx bench/tool-search/check-queries.ts
 */
import { existsSync } from 'node:fs';
import { sharedContentWords } from './content-words.ts';
import { type LabelledQuery, readQuerySet, type SplitName, splitFiles, splitOf } from './query-set.ts';
import { type ApiId, apiIds, loadApi, operationSummaries, specsPresent } from './specs.ts';

/** The problems of a set of queries, one line each naming the query; empty when all pass. */
export function checkQueries(
  sets: readonly { readonly split: SplitName; readonly queries: readonly LabelledQuery[] }[],
  summaries: ReadonlyMap<ApiId, ReadonlyMap<string, string>>,
): string[] {
  const problems: string[] = [];
  const seen = new Map<string, SplitName>();
  for (const { split, queries } of sets) {
    for (const q of queries) {
      const at = `${split}: [${q.api}] "${q.query}"`;
      const key = q.query.trim().toLowerCase();
      if (seen.has(key)) problems.push(`${at}: repeated (also in ${seen.get(key)})`);
      seen.set(key, split);
      if (splitOf(q.query) !== split)
        problems.push(`${at}: belongs in the ${splitOf(q.query)} split by the split rule`);
      const tools = summaries.get(q.api);
      if (!tools) {
        problems.push(`${at}: no operations known for api ${q.api}`);
        continue;
      }
      for (const name of [q.expected, ...q.alternatives])
        if (!tools.has(name)) problems.push(`${at}: tool ${name} is not in the ${q.api} catalogue`);
      if (q.alternatives.includes(q.expected)) problems.push(`${at}: expected ${q.expected} repeated in alternatives`);
      const summary = tools.get(q.expected);
      if (summary === undefined) continue;
      const shared = sharedContentWords(q.query, summary);
      if (shared.length > 1)
        problems.push(
          `${at}: shares ${shared.length} content words with "${summary}" (${q.expected}): ${shared.join(', ')}`,
        );
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!specsPresent()) {
    console.log('check-queries skipped: ../shared/specs not found');
    process.exit(0);
  }
  const sets = (Object.keys(splitFiles) as SplitName[])
    .filter((split) => existsSync(splitFiles[split]))
    .map((split) => ({ split, queries: readQuerySet(splitFiles[split]) }));
  const summaries = new Map(apiIds.map((api) => [api, operationSummaries(loadApi(api))] as const));
  const problems = checkQueries(sets, summaries);
  const counts = sets.map(({ split, queries }) => `${split} ${queries.length}`).join(', ');
  if (problems.length > 0) {
    for (const problem of problems) console.log(problem);
    console.log(`check-queries: ${problems.length} problem(s) in ${counts}`);
    process.exit(1);
  }
  console.log(`check-queries: ${counts} queries pass (at most one content word shared with the summary)`);
}
