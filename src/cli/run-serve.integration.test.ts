import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/support/test-databases.ts';
import { openAdapters } from '../open-adapters.ts';
import type { CliContext } from './cli-context.ts';
import { runCli } from './run-cli.ts';

const tempDir = mkdtempSync(join(tmpdir(), 'gh-serve-cli-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const postgres = testDatabases(tempDir).find((target) => target.name === 'postgres');

describe.skipIf(!postgres?.enabled)('gatehouse serve on PostgreSQL', () => {
  it('(issue 17) prints the store URL through redactStoreUrl: a ?password= parameter never reaches stdout', async () => {
    const db = await (postgres as NonNullable<typeof postgres>).create();
    try {
      const password = `pw-${randomBytes(12).toString('hex')}`;
      // PostgreSQL on the test host trusts loopback, so the extra password parameter is accepted and unused.
      const url = `${db.url}&password=${password}&sslmode=disable`;
      const configFile = join(tempDir, 'serve.yaml');
      writeFileSync(
        configFile,
        [
          'listen: 127.0.0.1:0',
          `dataDir: ${tempDir}`,
          'logLevel: silent',
          `store: "${url}"`,
          `masterKey: "${randomBytes(32).toString('base64')}"`,
          '',
        ].join('\n'),
      );
      let text = '';
      let stop: () => void = () => undefined;
      const stopSignal = new Promise<void>((resolve) => {
        stop = resolve;
      });
      const stdout = new Writable({
        write(chunk, _encoding, done) {
          text += String(chunk);
          if (text.includes('listening')) stop();
          done();
        },
      });
      const context: CliContext = {
        env: {},
        stdout,
        stderr: new Writable({ write: (_chunk, _encoding, done) => done() }),
        openAdapters,
        stopSignal,
      };
      expect(await runCli(['serve', '--config', configFile], context)).toBe(0);
      expect(text).toContain('Gatehouse listening on http://127.0.0.1:');
      expect(text).toContain('password=***');
      expect(text).not.toContain(password);
    } finally {
      await db.drop();
    }
  });
});
