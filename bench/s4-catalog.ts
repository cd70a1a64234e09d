/**
 * S4 (BENCHMARKS.md): a description to tools in a cold process. For each spec, runs a fresh child process
 * (`node --import tsx`) that reads, parses and converts the file (`loadCatalog`) and binds the tools to a service
 * id, then reports wall time of that work and the process's peak RSS. Median of `--rounds` (default 3) runs,
 * interleaved with a baseline child that only reads and parses the file (JSON.parse, or `yaml`'s parse), because
 * this machine is shared and noisy: the ratio to that baseline is the figure that holds between runs.
 *
 *   npx tsx bench/s4-catalog.ts [--rounds 5]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const specsDir = resolve(import.meta.dirname, '..', '..', 'shared', 'specs');
const cases = [
  { service: 'github', file: 'github.api.github.com.json', targetMs: 300, targetRssMb: 200 },
  { service: 'stripe', file: 'stripe.spec3.2023-09-12.yaml', targetMs: 600, targetRssMb: 200 },
] as const;

interface ChildResult {
  readonly ms: number;
  readonly rssMb: number;
  readonly tools: number;
  readonly problems: number;
}

async function runBaseline(path: string): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  const start = performance.now();
  const text = readFileSync(path, 'utf8');
  const value: unknown = path.endsWith('.json') ? JSON.parse(text) : parse(text, { version: '1.2' });
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

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return runChild(args[1] as string, args[2] as string);
  if (args[0] === '--baseline') return runBaseline(args[1] as string);
  const rounds = Number(args[args.indexOf('--rounds') + 1]) || 3;
  if (!existsSync(specsDir)) {
    console.log(`S4 skipped: ${specsDir} not found`);
    return;
  }
  const script = resolve(import.meta.dirname, 's4-catalog.ts');
  for (const spec of cases) {
    const runs: ChildResult[] = [];
    const baselines: ChildResult[] = [];
    const run = (mode: string): ChildResult =>
      JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', script, mode, resolve(specsDir, spec.file), spec.service], {
          encoding: 'utf8',
          cwd: resolve(import.meta.dirname, '..'),
        }),
      ) as ChildResult;
    for (let i = 0; i < rounds; i++) {
      runs.push(run('--child'));
      baselines.push(run('--baseline'));
    }
    const ms = median(runs.map((r) => r.ms));
    const rssMb = median(runs.map((r) => r.rssMb));
    const baseMs = median(baselines.map((r) => r.ms));
    const pass = ms <= spec.targetMs && rssMb <= spec.targetRssMb;
    console.log(
      `S4 ${spec.service}: ${ms.toFixed(0)} ms (runs ${runs.map((r) => r.ms.toFixed(0)).join('/')}), peak RSS ${rssMb.toFixed(0)} MB, ` +
        `baseline read+parse ${baseMs.toFixed(0)} ms (ratio ${(ms / baseMs).toFixed(2)}), ` +
        `${runs[0]?.tools} tools, ${runs[0]?.problems} problems; target <= ${spec.targetMs} ms, <= ${spec.targetRssMb} MB: ${pass ? 'pass' : 'FAIL'}`,
    );
  }
}

await main();
