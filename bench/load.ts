import { runClosedLoop } from './closed-loop.ts';
import type { LoadSpec } from './load-spec.ts';
import { runOpenLoop } from './open-loop.ts';
import { runSdkClientLoop } from './sdk-client-loop.ts';

/**
 * The load generator, always run as its own process so it never shares an event loop with a target:
 * `node --import tsx bench/load.ts '<LoadSpec JSON>'` prints the line `measure` when the measured window starts
 * (after the warm-up), then one `LoadResult` JSON line.
 */

const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
for (const url of [spec.url, ...(spec.urls ?? [])]) {
  if (new URL(url).hostname !== '127.0.0.1') throw new Error(`load: only 127.0.0.1 targets, got ${url}`);
}
// Exit with the harness: its stdin pipe closing means it is gone.
process.stdin.on('end', () => process.exit(1));
process.stdin.resume();

const onMeasure = (): void => {
  process.stdout.write('measure\n');
};
const result =
  spec.mode === 'open'
    ? await runOpenLoop(spec, onMeasure)
    : spec.mode === 'client'
      ? await runSdkClientLoop(spec, onMeasure)
      : await runClosedLoop(spec, onMeasure);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
