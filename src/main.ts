/**
 * Wiring: the one place that picks concrete adapters (store, vault keys, upstream client) for a config, then
 * hands control to the `gatehouse` command.
 */
import { readFileSync } from 'node:fs';
import { runCli } from './cli/index.ts';
import { openAdapters } from './open-adapters.ts';

/**
 * How long a stop (first SIGINT/SIGTERM) may take before the process exits anyway: 10 s, or what `serve` asks for
 * (its unready delay and drain time, plus time to flush and close).
 */
let shutdownGraceMs = 10_000;
/** How long a finished command waits for open handles to close on their own before exiting anyway. */
const exitGraceMs = 1_000;

let stopRequested = false;
const stopSignal = new Promise<void>((resolve) => {
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal, or a stop that hangs, ends the process: a handler that only resolves a promise nobody
    // awaits (a failed start-up) would otherwise make the process ignore SIGINT and SIGTERM.
    if (stopRequested) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopRequested = true;
    resolve();
    setTimeout(() => {
      process.stderr.write(`gatehouse: stopping took over ${shutdownGraceMs / 1000} s; exiting anyway\n`);
      process.exit(1);
    }, shutdownGraceMs).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
});

const version = readOwnVersion();

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  openAdapters,
  stopSignal,
  setStopGraceMs: (ms) => {
    shutdownGraceMs = ms;
  },
  version,
});
process.exitCode = code;
// The command is over: a handle left open (a pool, a timer of a half-started component) must not keep the process
// running. The timer is unref'd, so a process with nothing open exits at once.
setTimeout(() => process.exit(code), exitGraceMs).unref();

/**
 * The version in the package's own package.json: one folder up from src/ or dist/, further up from a build placed
 * elsewhere (the bench compiles into bench/results/build). `unknown` rather than a crash when none is found.
 */
function readOwnVersion(): string {
  for (const up of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'mcp-gatehouse' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // Not there: look one folder further up.
    }
  }
  return 'unknown';
}
