import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureText as capture } from '../../test/support/run-cli-in-process.ts';
import type { CliContext } from './cli-context.ts';
import { runCli } from './run-cli.ts';

describe('runCli', () => {
  it('(issue 10 item 7) an unexpected system error names its code and call, never its message', async () => {
    const stdout = capture();
    const stderr = capture();
    const context: CliContext = {
      env: {},
      stdout: stdout.stream,
      stderr: stderr.stream,
      stopSignal: new Promise(() => {}),
      openAdapters: async () => {
        throw Object.assign(new Error('open /secret/path?token=abc failed'), { code: 'EACCES', syscall: 'open' });
      },
    };
    const config = join(mkdtempSync(join(tmpdir(), 'gatehouse-run-cli-')), 'gatehouse.yaml');
    writeFileSync(config, 'tenants: []\n');
    expect(await runCli(['migrate', '--config', config], context)).toBe(1);
    expect(stderr.text()).toContain('EACCES');
    expect(stderr.text()).not.toContain('token=abc');
  });

  it.each([
    [['keys', 'create', '--help'], /^Usage: gatehouse keys create --config FILE --tenant T --toolset S/],
    [['help', 'audit', 'verify'], /^Usage: gatehouse audit verify .*\n[\s\S]*--checkpoint SEQ:HASH/],
    [['serve', '-h'], /^Usage: gatehouse serve \[--config FILE\] \[--demo\][\s\S]*Example:/],
    [['vault', '--help'], /^Usage: gatehouse vault rotate[\s\S]*Usage: gatehouse vault rewrap/],
  ])("(issue 10 item 10) %j prints that command's help, not the global usage", async (argv, expected) => {
    const stdout = capture();
    const context: CliContext = {
      env: {},
      stdout: stdout.stream,
      stderr: capture().stream,
      stopSignal: new Promise(() => {}),
    } as unknown as CliContext;
    expect(await runCli(argv, context)).toBe(0);
    expect(stdout.text()).toMatch(expected);
    expect(stdout.text()).not.toContain('Commands:');
  });

  it('(issue 10 item 10) help for an unknown command is a usage error naming it', async () => {
    const stderr = capture();
    const context = {
      env: {},
      stdout: capture().stream,
      stderr: stderr.stream,
      stopSignal: new Promise(() => {}),
    } as unknown as CliContext;
    expect(await runCli(['help', 'frobnicate'], context)).toBe(2);
    expect(stderr.text()).toContain("unknown command 'frobnicate'");
  });

  it('(issue 10 item 10) -v and --version print the version', async () => {
    for (const flag of ['-v', '--version']) {
      const stdout = capture();
      const context = {
        env: {},
        version: '9.9.9',
        stdout: stdout.stream,
        stderr: capture().stream,
        stopSignal: new Promise(() => {}),
      } as unknown as CliContext;
      expect(await runCli([flag], context)).toBe(0);
      expect(stdout.text()).toBe('9.9.9\n');
    }
  });
});
