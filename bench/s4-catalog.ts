/**
 * S4 (BENCHMARKS.md): a description to tools in a cold process. For each spec, runs a fresh child process
 * (`node --import tsx`) that reads, parses and converts the file (`loadCatalog`) and binds the tools to a service
 * id, then reports wall time of that work and the process's peak RSS. Median of `--rounds` (default 3) runs.
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
  const rounds = Number(args[args.indexOf('--rounds') + 1]) || 3;
  if (!existsSync(specsDir)) {
    console.log(`S4 skipped: ${specsDir} not found`);
    return;
  }
  const script = resolve(import.meta.dirname, 's4-catalog.ts');
  for (const spec of cases) {
    const runs: ChildResult[] = [];
    for (let i = 0; i < rounds; i++) {
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', script, '--child', resolve(specsDir, spec.file), spec.service],
        { encoding: 'utf8', cwd: resolve(import.meta.dirname, '..') },
      );
      runs.push(JSON.parse(out) as ChildResult);
    }
    const ms = median(runs.map((run) => run.ms));
    const rssMb = median(runs.map((run) => run.rssMb));
    const pass = ms <= spec.targetMs && rssMb <= spec.targetRssMb;
    console.log(
      `S4 ${spec.service}: ${ms.toFixed(0)} ms (runs ${runs.map((r) => r.ms.toFixed(0)).join('/')}), peak RSS ${rssMb.toFixed(0)} MB, ` +
        `${runs[0]?.tools} tools, ${runs[0]?.problems} problems; target <= ${spec.targetMs} ms, <= ${spec.targetRssMb} MB: ${pass ? 'pass' : 'FAIL'}`,
    );
  }
}

await main();
