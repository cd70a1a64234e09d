import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureText as capture } from '../../test/support/run-cli-in-process.ts';
import type { CliContext } from './cli-context.ts';
import { runCli } from './run-cli.ts';

// Found by the stranger helper: every command accepts every option of every other command and ignores the ones it
// does not use. `apply --dry-run` previews; `tenant purge --dry-run` purges for real (data keys destroyed), and
// `doctor --demo` silently checks something other than the demo the operator meant.
describe('cli_dry_run_ignored_by_tenant_purge', () => {
  it.each([
    [['tenant', 'purge', '--tenant', 'gone', '--dry-run'], '--dry-run'],
    [['migrate', '--dry-run'], '--dry-run'],
    [['keys', 'create', '--tenant', 'acme', '--toolset', 'support', '--dry-run'], '--dry-run'],
    [['doctor', '--demo'], '--demo'],
  ])('%j is a usage error (exit 2) naming the option, and opens no store', async (argv, option) => {
    const stderr = capture();
    let opened = false;
    const context: CliContext = {
      env: {},
      stdout: capture().stream,
      stderr: stderr.stream,
      stopSignal: new Promise(() => {}),
      openAdapters: async () => {
        opened = true;
        throw new Error('the command went on to open the store');
      },
    };
    const config = join(mkdtempSync(join(tmpdir(), 'gatehouse-cli-options-')), 'gatehouse.yaml');
    writeFileSync(config, 'tenants: []\n');
    const code = await runCli([...argv, '--config', config], context);
    expect(opened).toBe(false);
    expect(code).toBe(2);
    expect(stderr.text()).toContain(option);
  });
});
