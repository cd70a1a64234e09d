// Loaded into a soak's gatehouse process with `node --expose-gc --import ./bench/memory-probe.mjs` (plain
// JavaScript: it runs before tsx is registered). Every GATEHOUSE_BENCH_MEMORY_EVERY_MS it collects garbage and appends
// the process's RSS and live heap to the file GATEHOUSE_BENCH_MEMORY_PROBE, one JSON line each, so a slope measures
// what stays alive, not when the collector last ran. Flags on the command line are not inherited by child processes.
import { appendFileSync } from 'node:fs';

const file = process.env.GATEHOUSE_BENCH_MEMORY_PROBE;
if (file) {
  const sample = () => {
    globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), rss, heapUsed })}\n`);
  };
  setInterval(sample, Number(process.env.GATEHOUSE_BENCH_MEMORY_EVERY_MS ?? 5_000)).unref();
}
