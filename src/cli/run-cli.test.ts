import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliContext } from './cli-context.ts';
import { runCli } from './run-cli.ts';

function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

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
});
