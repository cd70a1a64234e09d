/**
 * S7 (BENCHMARKS.md): a 1 MB JSON upstream answer to a handle and a summary: time (target <= 20 ms) and summary
 * tokens (target <= 2,000), and query/page recover the rest exactly (checked once, byte for byte). The timed
 * work is what the gateway does after the upstream client has the body: `toToolResult` (scrub, structured
 * content) and `shapeToolResult` (token estimate, handle in the memory store, summary with an exact count).
 * `JSON.parse` of the body (done by the upstream client) is timed separately, as the baseline of the same run.
 * Median of `--iterations` (default 30), interleaved.
 *
 *   npx tsx bench/s7-large-result.ts [--iterations 30]
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/index.ts';
import {
  countTokens,
  createMemoryResultStore,
  createResultHandles,
  pageResult,
  shapeToolResult,
  toToolResult,
} from '../src/shaping/index.ts';
import { median } from './percentile.ts';

const { values: args } = parseArgs({ options: { iterations: { type: 'string', default: '30' } } });
const iterations = Number(args.iterations);

/** GitHub-like search answer of about 1 MB. */
function createAnswerText(): string {
  const items = [];
  for (let i = 0; JSON.stringify(items).length < 1_040_000; i++) {
    items.push({
      id: 100_000 + i,
      node_id: `MDEwOlJlcG9zaXRvcnk${i}`,
      name: `project-${i}`,
      full_name: `octo-org/project-${i}`,
      private: i % 5 === 0,
      owner: { login: `user${i % 97}`, id: 5_000 + (i % 97), type: 'User', site_admin: false },
      html_url: `https://github.com/octo-org/project-${i}`,
      description: i % 4 === 0 ? null : `A tool for ${i % 13} things, with “quotes” and émojis 🚀`,
      fork: false,
      created_at: '2024-03-01T10:00:00Z',
      stargazers_count: (i * 31) % 5_000,
      language: ['TypeScript', 'Go', 'Rust', null][i % 4],
      topics: ['api', `topic-${i % 17}`],
    });
  }
  return JSON.stringify({ total_count: items.length, incomplete_results: false, items });
}

const text = createAnswerText();
const body = new TextEncoder().encode(text);
const scrub = (value: string) => value;
const store = createMemoryResultStore({ clock: systemClock, maxBytes: 512 * 1024 * 1024 });
const handles = createResultHandles({ store, clock: systemClock });
const owner = { tenant: 'bench', subject: 'alice', clientKey: 'k1' };

async function shapeOnce(json: unknown) {
  const result = toToolResult(
    { status: 200, contentType: 'application/json', body, json, jsonText: text } as Parameters<typeof toToolResult>[0],
    'search',
    scrub,
  );
  return shapeToolResult(result, { budget: 8_000, owner, handles });
}

const shapeMs: number[] = [];
const parseMs: number[] = [];
let summaryTokens = 0;
let handle = '';
for (let i = 0; i < iterations + 3; i++) {
  const p0 = performance.now();
  const json = JSON.parse(text) as unknown;
  const p1 = performance.now();
  const shaped = await shapeOnce(json);
  const p2 = performance.now();
  if (i >= 3) {
    parseMs.push(p1 - p0);
    shapeMs.push(p2 - p1);
  }
  summaryTokens = shaped.tokens;
  handle = shaped.handle ?? '';
  if (countTokens(shaped.text) !== shaped.tokens) throw new Error('summary token count is not exact');
}

// Nothing is lost: paging the text from 0 to the end rebuilds the answer byte for byte.
let rebuilt = '';
let offset: number | null = 0;
let pages = 0;
while (offset !== null) {
  const page = await pageResult({ handle, offset }, { budget: 8_000, owner, handles });
  const content = page.structuredContent as { text: string; nextOffset: number | null };
  rebuilt += content.text;
  offset = content.nextOffset;
  pages++;
}
const exact = Buffer.from(rebuilt).equals(Buffer.from(body));

const ms = median(shapeMs);
console.log(`S7 1 MB JSON answer (${(body.byteLength / 1024).toFixed(0)} KiB, ${iterations} runs, median)`);
console.log(
  `  handle + summary ${ms.toFixed(2)} ms (target <= 20) ${ms <= 20 ? 'pass' : 'FAIL'}; JSON.parse baseline ${median(parseMs).toFixed(2)} ms, ratio ${(ms / median(parseMs)).toFixed(2)}`,
);
console.log(`  summary ${summaryTokens} tokens (target <= 2,000) ${summaryTokens <= 2_000 ? 'pass' : 'FAIL'}`);
console.log(`  page tool: ${pages} pages of <= 8,000 tokens rebuild the answer byte for byte: ${exact ? 'yes' : 'NO'}`);
