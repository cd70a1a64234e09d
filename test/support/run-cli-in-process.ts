import { Writable } from 'node:stream';
import type { CliContext } from '../../src/cli/cli-context.ts';
import { runCli } from '../../src/cli/run-cli.ts';

/** A writable stream that keeps what is written, for a CLI's stdout or stderr. */
export function captureText(): { readonly stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

/**
 * Runs the `gatehouse` command in this process with captured output. Without `openAdapters` a command that opens
 * them fails: most commands under test must not need the gateway's adapters.
 */
export async function runCliInProcess(
  argv: readonly string[],
  options: { readonly env?: NodeJS.ProcessEnv; readonly openAdapters?: CliContext['openAdapters'] } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = captureText();
  const stderr = captureText();
  const context: CliContext = {
    env: options.env ?? {},
    stdout: stdout.stream,
    stderr: stderr.stream,
    openAdapters: options.openAdapters ?? (() => Promise.reject(new Error('this command must not open the adapters'))),
    stopSignal: new Promise(() => undefined),
  };
  const code = await runCli(argv, context);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
