export type { CliContext } from './cli-context.ts';
export { runCli } from './run-cli.ts';
