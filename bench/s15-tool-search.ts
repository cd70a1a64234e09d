/**
 * Issue 15: tool search measured on the task queries of bench/tool-search (phrased the way people ask). Each
 * query is searched in a toolset of its own API (that API's index, as a toolset of one service sees it); a query
 * is a hit at k when its expected tool or an alternative is among the first k results. Prints recall@1 and
 * recall@5 overall and per API, the index build time and memory of each catalogue, and the search latency over a
 * 2,000-tool toolset (GitHub + Stripe + Box + Spotify, every query of the split repeated), as wall clock and CPU time.
 *
 *   npx tsx bench/s15-tool-search.ts [--split tune|holdout] [--misses]
 *
 * `--misses` prints the misses of the tune split only: the held-out split reports its figures and nothing else,
 * so nobody tunes on it.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { ServiceCatalog } from '../src/core/index.ts';
import { createToolSearchIndex, searchToolIndexes, type ToolSearchIndex } from '../src/shaping/index.ts';
import { readQuerySet, type SplitName, splitFiles } from './tool-search/query-set.ts';
import { type ApiId, apiIds, loadApi, specsPresent } from './tool-search/specs.ts';

const { values: args } = parseArgs({
  options: { split: { type: 'string', default: 'tune' }, misses: { type: 'boolean', default: false } },
});
const split = args.split as SplitName;
if (split !== 'tune' && split !== 'holdout') throw new Error('--split expects tune or holdout');
if (args.misses && split !== 'tune') throw new Error('--misses is for the tune split only');
if (!specsPresent()) {
  console.log('S15 skipped: ../shared/specs not found (set GATEHOUSE_SPECS_DIR)');
  process.exit(0);
}

const queries = readQuerySet(splitFiles[split]);
const indexes = new Map<ApiId, ToolSearchIndex>();
const catalogs = new Map<ApiId, ServiceCatalog>();
const build: string[] = [];
for (const api of apiIds) {
  const loaded = loadApi(api);
  if (!('catalog' in loaded)) {
    build.push(`  ${api}: not importable yet (${loaded.skipped.slice(0, 80)})`);
    continue;
  }
  catalogs.set(api, loaded.catalog);
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const index = createToolSearchIndex(loaded.catalog);
  const buildMs = performance.now() - t0;
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  const heapMb = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  indexes.set(api, index);
  build.push(
    `  ${api}: ${index.documents.length} tools, index build ${buildMs.toFixed(0)} ms, ` +
      `${(globalThis as { gc?: unknown }).gc ? `${heapMb.toFixed(1)} MB heap` : 'heap: run with --expose-gc'}`,
  );
}

const perApi = new Map<ApiId, { n: number; at1: number; at5: number }>();
const misses: string[] = [];
let measured = 0;
for (const q of queries) {
  const index = indexes.get(q.api);
  if (index === undefined) continue;
  measured++;
  const wanted = [q.expected, ...q.alternatives];
  const hits = searchToolIndexes([index], { query: q.query, limit: 5 });
  const rank = hits.findIndex((hit) => wanted.includes(hit.tool.name));
  const row = perApi.get(q.api) ?? { n: 0, at1: 0, at5: 0 };
  row.n++;
  if (rank === 0) row.at1++;
  if (rank >= 0) row.at5++;
  perApi.set(q.api, row);
  if (args.misses && rank < 0) {
    misses.push(
      `  miss [${q.api}] "${q.query}" wants ${wanted.join(' | ')}; got ${hits.map((h) => h.tool.name).join(', ')}`,
    );
  }
}

let at1 = 0;
let at5 = 0;
for (const row of perApi.values()) {
  at1 += row.at1;
  at5 += row.at5;
}
const skipped = queries.length - measured;
console.log(`S15 tool search, ${split} split: ${measured} queries measured (${skipped} over APIs not importable)`);
console.log(
  `  recall@5 ${(at5 / measured).toFixed(3)} (target >= 0.95); recall@1 ${(at1 / measured).toFixed(3)}; per API recall@5 (recall@1):`,
);
for (const [api, row] of perApi) {
  console.log(
    `    ${api.padEnd(8)} ${(row.at5 / row.n).toFixed(3)} (${(row.at1 / row.n).toFixed(3)}) of ${row.n}${row.at5 / row.n < 0.85 ? '  < 0.85' : ''}`,
  );
}
for (const line of build) console.log(line);

// Latency over a toolset of over 2,000 tools: every query of the split against GitHub + Stripe + Box + Spotify.
const large = (['github', 'stripe', 'box', 'spotify'] as const).flatMap((api) => {
  const index = indexes.get(api);
  return index === undefined ? [] : [index];
});
const toolCount = large.reduce((n, index) => n + index.documents.length, 0);
const wall: number[] = [];
const cpu: number[] = [];
// Each query's fastest of the five rounds: its own cost, without the other processes of a busy machine.
const best = new Array<number>(queries.length).fill(Number.POSITIVE_INFINITY);
for (let round = 0; round < 5; round++) {
  for (const [i, q] of queries.entries()) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    searchToolIndexes(large, { query: q.query, limit: 8 });
    const ms = performance.now() - t0;
    wall.push(ms);
    best[i] = Math.min(best[i] as number, ms);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
}
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number).toFixed(2);
};
console.log(
  `  latency over ${toolCount} tools (${wall.length} searches): wall p50 ${pct(wall, 0.5)} ms, p99 ${pct(wall, 0.99)} ms; ` +
    `CPU p50 ${pct(cpu, 0.5)} ms, p99 ${pct(cpu, 0.99)} ms; per-query best of 5 p99 ${pct(best, 0.99)} ms, max ${pct(best, 1)} ms (target p99 <= 5 ms; load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores)`,
);
for (const miss of misses) console.log(miss);
