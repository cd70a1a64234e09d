export type { Adapters, CliContext } from './cli-context.ts';
export { runCli } from './run-cli.ts';
export { startGatehouse } from './run-serve.ts';
