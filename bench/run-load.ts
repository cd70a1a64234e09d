import { createInterface } from 'node:readline';
import type { LoadResult, LoadSpec } from './load-spec.ts';
import { spawnChild } from './spawn-child.ts';

/**
 * Runs `bench/load.ts` as its own process with `spec` and returns its result. `onMeasure` is called when the load
 * process reports that its measured window starts. Bounded by the spec's durations plus a fixed slack.
 */
export async function runLoad(repoRoot: string, spec: LoadSpec, onMeasure: () => void = () => {}): Promise<LoadResult> {
  const child = spawnChild('load', process.execPath, ['--import', 'tsx', 'bench/load.ts', JSON.stringify(spec)], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'] },
    cwd: repoRoot,
  });
  // Start-up, warm-up, window and the open loop's 10 s drain, plus slack for a loaded machine.
  const limitMs = (spec.warmupSec + spec.durationSec + 40) * 1000;
  const lines = createInterface({ input: child.process.stdout! });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<LoadResult>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`load gave no result within ${limitMs} ms`)), limitMs);
      lines.on('line', (line) => {
        if (line === 'measure') return onMeasure();
        try {
          resolve(JSON.parse(line) as LoadResult);
        } catch {
          reject(new Error(`load printed '${line.slice(0, 200)}'`));
        }
      });
      child.process.once('exit', (code) =>
        reject(new Error(`load exited (${code}) without a result: ${child.stderrTail().slice(-600)}`)),
      );
    });
  } finally {
    clearTimeout(timer);
    lines.close();
    await child.stop();
  }
}
