import type { Writable } from 'node:stream';
import type { Config, Environment } from '../core/index.ts';
import type { Adapters } from '../wiring/index.ts';

export interface CliContext {
  readonly env: Environment;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Opens store (migrated), vault and upstream client for a config. Warnings go to `warn`. */
  openAdapters(config: Config, context: { readonly stderr: Writable }): Promise<Adapters>;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); tests resolve it themselves. */
  readonly stopSignal: Promise<void>;
  /** How long a stop may take before the process exits anyway (`serve` sets it from `config.shutdown`). */
  readonly setStopGraceMs?: (ms: number) => void;
  /** The package version, for `--version` (main.ts reads it from package.json). */
  readonly version?: string;
}

/** Who a change made by a `gatehouse` command (`keys create`, `users add`, `users disable`) is recorded as in the audit log. */
export const cliActor = 'cli';
