import { parseArgs } from 'node:util';
import { GatehouseError } from '../core/index.ts';

/** Options every command understands; each command reads the ones it needs. */
const options = {
  config: { type: 'string', short: 'c' },
  category: { type: 'string' },
  demo: { type: 'boolean' },
  json: { type: 'boolean' },
  checkpoint: { type: 'string' },
  service: { type: 'string' },
  tenant: { type: 'string' },
  toolset: { type: 'string', multiple: true },
  subject: { type: 'string' },
  name: { type: 'string' },
  'display-name': { type: 'string' },
  force: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'previous-config': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export interface CommandLine {
  readonly command: readonly string[];
  readonly values: {
    readonly config?: string;
    readonly category?: string;
    readonly demo?: boolean;
    readonly json?: boolean;
    readonly checkpoint?: string;
    readonly service?: string;
    readonly tenant?: string;
    readonly toolset?: readonly string[];
    readonly subject?: string;
    readonly name?: string;
    readonly 'display-name'?: string;
    readonly force?: boolean;
    readonly 'dry-run'?: boolean;
    readonly 'previous-config'?: string;
    readonly help?: boolean;
    readonly version?: boolean;
  };
}

/** Parses argv (without node and the script). Unknown options are errors that name the option. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { command: positionals, values };
  } catch (error) {
    throw new GatehouseError('invalid_request', (error as Error).message);
  }
}
