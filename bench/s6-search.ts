/**
 * S6 (BENCHMARKS.md): tool search over GitHub + Stripe (1,691 tools) with the labelled queries of
 * bench/fixtures/tool-search-queries.json: recall@5 (a query is a hit when one of its expected tools is among
 * the first five results), target >= 0.9. Also prints recall@1, MRR, the misses, and the index build and query
 * times. `--verbose` prints every query's top five.
 *
 *   npx tsx bench/s6-search.ts [--verbose]
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bindCatalog, loadCatalog } from '../src/catalog/index.ts';
import { createToolSearchIndex, searchToolIndexes } from '../src/shaping/index.ts';
import { sharedSpecsDir } from '../test/support/shared-specs-dir.ts';

const { values: args } = parseArgs({ options: { verbose: { type: 'boolean', default: false } } });
const specs = sharedSpecsDir;
const files = { github: 'github.api.github.com.json', stripe: 'stripe.spec3.2023-09-12.yaml' } as const;
if (!Object.values(files).every((file) => existsSync(resolve(specs, file)))) {
  console.log('S6 skipped: ../shared/specs not found');
  process.exit(0);
}
const { queries } = JSON.parse(
  readFileSync(resolve(import.meta.dirname, 'fixtures', 'tool-search-queries.json'), 'utf8'),
) as { queries: { query: string; expected: string[] }[] };

const catalogs = Object.entries(files).map(([service, file]) =>
  bindCatalog(loadCatalog(resolve(specs, file)), service),
);
const t0 = performance.now();
const indexes = catalogs.map((catalog) => createToolSearchIndex(catalog));
const buildMs = performance.now() - t0;

let hits5 = 0;
let hits1 = 0;
let reciprocal = 0;
const misses: string[] = [];
const q0 = performance.now();
for (const { query, expected } of queries) {
  const top = searchToolIndexes(indexes, { query, limit: 10 }).map((hit) => hit.tool.name);
  const rank = top.findIndex((name) => expected.includes(name));
  if (rank >= 0 && rank < 5) hits5++;
  if (rank === 0) hits1++;
  if (rank >= 0) reciprocal += 1 / (rank + 1);
  if (rank < 0 || rank >= 5)
    misses.push(`  miss: "${query}" wants ${expected.join(' | ')}; got ${top.slice(0, 5).join(', ')}`);
  if (args.verbose) console.log(`${rank >= 0 && rank < 5 ? 'ok  ' : 'MISS'} ${query} -> ${top.slice(0, 5).join(', ')}`);
}
const queryMs = (performance.now() - q0) / queries.length;
const recall = hits5 / queries.length;
console.log(
  `S6 tool search over ${catalogs.reduce((n, c) => n + c.tools.length, 0)} tools, ${queries.length} labelled queries`,
);
console.log(
  `  recall@5 ${recall.toFixed(3)} (target >= 0.9) ${recall >= 0.9 ? 'pass' : 'FAIL'}; recall@1 ${(hits1 / queries.length).toFixed(3)}; MRR ${(reciprocal / queries.length).toFixed(3)}`,
);
console.log(`  index build ${buildMs.toFixed(0)} ms (once per catalogue), ${queryMs.toFixed(2)} ms per query`);
for (const miss of misses) console.log(miss);
