/**
 * S4 and S17 (BENCHMARKS.md): a description to tools in a cold process (S17: GitHub's GraphQL schema). For each spec, runs a fresh child process
 * (`node --import tsx`) that reads, parses and converts the file (`loadCatalog`) and binds the tools to a service
 * id, then reports wall time of that work and the process's peak RSS. Median of `--rounds` (default 3) runs,
 * interleaved with a baseline child that only reads and parses the file (JSON.parse, or `yaml`'s parse), because
 * this machine is shared and noisy: the ratio to that baseline is the figure that holds between runs.
 *
 *   npx tsx bench/s4-catalog.ts [--rounds 5]   (also part of `npm run bench`)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const specsDir = resolve(import.meta.dirname, '..', '..', 'shared', 'specs');
const cases = [
  { scenario: 'S4', service: 'github', file: 'github.api.github.com.json', targetMs: 300, targetRssMb: 200 },
  { scenario: 'S4', service: 'stripe', file: 'stripe.spec3.2023-09-12.yaml', targetMs: 600, targetRssMb: 200 },
  // S17 sets no memory bound; S4's is shown beside it for context.
  { scenario: 'S17', service: 'github-graphql', file: 'github.schema.graphql', targetMs: 1_000, targetRssMb: 200 },
] as const;

/** Which scenario a cold-process case belongs to. */
export type ColdScenario = (typeof cases)[number]['scenario'];

interface ChildResult {
  readonly ms: number;
  readonly rssMb: number;
  readonly tools: number;
  readonly problems: number;
}

async function runBaseline(path: string): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  const graphql = await import('graphql');
  const start = performance.now();
  const text = readFileSync(path, 'utf8');
  const value: unknown = path.endsWith('.json')
    ? JSON.parse(text)
    : path.endsWith('.graphql')
      ? graphql.parse(text)
      : parse(text, { version: '1.2' });
  const ms = performance.now() - start;
  const result: ChildResult = {
    ms,
    rssMb: process.resourceUsage().maxRSS / 1024,
    tools: value === undefined ? -1 : 0,
    problems: 0,
  };
  process.stdout.write(JSON.stringify(result));
}

async function runChild(path: string, service: string): Promise<void> {
  const { loadCatalog, bindCatalog } = await import('../src/catalog/index.ts');
  const start = performance.now();
  const catalog = loadCatalog(path);
  const bound = bindCatalog(catalog, service);
  const ms = performance.now() - start;
  const result: ChildResult = {
    ms,
    rssMb: process.resourceUsage().maxRSS / 1024,
    tools: bound.tools.length,
    problems: catalog.problems.length,
  };
  process.stdout.write(JSON.stringify(result));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export interface S4Case {
  readonly scenario: ColdScenario;
  readonly service: string;
  /** Median wall time of read + parse + convert + bind, in the cold child. */
  readonly ms: number;
  readonly runsMs: readonly number[];
  readonly rssMb: number;
  /** Median time of the baseline child that only reads and parses the file. */
  readonly baselineMs: number;
  readonly tools: number;
  readonly problems: number;
  readonly targetMs: number;
  readonly targetRssMb: number;
}

export type S4Result = { readonly skipped: string } | { readonly cases: readonly S4Case[] };

/**
 * Runs the cases of `scenarios` (S4, S17): `rounds` cold children each, interleaved with the read+parse baseline.
 */
export function runS4(rounds: number, scenarios: readonly ColdScenario[] = ['S4', 'S17']): S4Result {
  if (!existsSync(specsDir)) return { skipped: `${specsDir} not found` };
  const script = resolve(import.meta.dirname, 's4-catalog.ts');
  return {
    cases: cases
      .filter((spec) => scenarios.includes(spec.scenario))
      .map((spec) => {
        const runs: ChildResult[] = [];
        const baselines: ChildResult[] = [];
        const run = (mode: string): ChildResult =>
          JSON.parse(
            execFileSync(
              process.execPath,
              ['--import', 'tsx', script, mode, resolve(specsDir, spec.file), spec.service],
              {
                encoding: 'utf8',
                cwd: resolve(import.meta.dirname, '..'),
              },
            ),
          ) as ChildResult;
        for (let i = 0; i < rounds; i++) {
          runs.push(run('--child'));
          baselines.push(run('--baseline'));
        }
        return {
          scenario: spec.scenario,
          service: spec.service,
          ms: median(runs.map((r) => r.ms)),
          runsMs: runs.map((r) => r.ms),
          rssMb: median(runs.map((r) => r.rssMb)),
          baselineMs: median(baselines.map((r) => r.ms)),
          tools: runs[0]?.tools ?? 0,
          problems: runs[0]?.problems ?? 0,
          targetMs: spec.targetMs,
          targetRssMb: spec.targetRssMb,
        };
      }),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return runChild(args[1] as string, args[2] as string);
  if (args[0] === '--baseline') return runBaseline(args[1] as string);
  const result = runS4(Number(args[args.indexOf('--rounds') + 1]) || 3);
  if ('skipped' in result) {
    console.log(`S4 skipped: ${result.skipped}`);
    return;
  }
  for (const c of result.cases) {
    const pass = c.ms <= c.targetMs && c.rssMb <= c.targetRssMb;
    console.log(
      `${c.scenario} ${c.service}: ${c.ms.toFixed(0)} ms (runs ${c.runsMs.map((ms) => ms.toFixed(0)).join('/')}), peak RSS ${c.rssMb.toFixed(0)} MB, ` +
        `baseline read+parse ${c.baselineMs.toFixed(0)} ms (ratio ${(c.ms / c.baselineMs).toFixed(2)}), ` +
        `${c.tools} tools, ${c.problems} problems; target <= ${c.targetMs} ms, <= ${c.targetRssMb} MB: ${pass ? 'pass' : 'FAIL'}`,
    );
  }
}

// Run as a script (the CLI and the children it starts), not when `npm run bench` imports runS4.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.dirname, 's4-catalog.ts')) {
  await main();
}
