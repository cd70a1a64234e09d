/**
 * Wiring: the one place that picks concrete adapters (store, vault keys, upstream client) for a config, then
 * hands control to the `gatehouse` command.
 */
import { runCli } from './cli/index.ts';
import { openAdapters } from './open-adapters.ts';

const stopSignal = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  openAdapters,
  stopSignal,
});
