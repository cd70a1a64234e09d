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

/**
 * Runs `gatehouse serve --config configFile` until it says it listens, then stops it; returns everything it wrote
 * (stdout and stderr, log lines included). It must exit 0.
 */
async function serveUntilListening(configFile: string): Promise<string> {
  let text = '';
  let stop: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const capture = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      if (text.includes('listening')) stop();
      done();
    },
  });
  const context: CliContext = { env: {}, stdout: capture, stderr: capture, openAdapters, stopSignal };
  expect(await runCli(['serve', '--config', configFile], context)).toBe(0);
  return text;
}

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
      const text = await serveUntilListening(configFile);
      expect(text).toContain('Gatehouse listening on http://127.0.0.1:');
      expect(text).toContain('password=***');
      expect(text).not.toContain(password);
    } finally {
      await db.drop();
    }
  });
});

describe('gatehouse serve start-up warnings', () => {
  it('weak_admin_token_silent_at_start: a short admin token is named at start by its length, never its value', async () => {
    const adminToken = `tok-${randomBytes(6).toString('hex')}`; // 16 characters
    const configFile = join(tempDir, 'weak-admin.yaml');
    writeFileSync(
      configFile,
      [
        'listen: 127.0.0.1:0',
        `dataDir: ${tempDir}`,
        'logFormat: json',
        `store: "sqlite:${join(tempDir, 'weak-admin.db')}"`,
        `masterKey: "${randomBytes(32).toString('base64')}"`,
        `adminToken: "${adminToken}"`,
        '',
      ].join('\n'),
    );
    const text = await serveUntilListening(configFile);
    expect(text).toContain('the admin token has 16 characters: short enough to be guessed from many addresses');
    expect(text).not.toContain(adminToken);
  });

  it('removed_tenant_still_served_banner_hides_it: a tenant served from the store but gone from the file is listed, and counted', async () => {
    const dir = mkdtempSync(join(tempDir, 'stored-tenant-'));
    const configFile = join(dir, 'gatehouse.yaml');
    const write = (tenants: readonly string[]) =>
      writeFileSync(
        configFile,
        [
          'listen: 127.0.0.1:0',
          `dataDir: ${dir}`,
          'logFormat: json',
          `masterKey: "${Buffer.alloc(32, 7).toString('base64')}"`,
          'tenants:',
          ...tenants.flatMap((id) => [`  - id: ${id}`, '    toolsets:', '      - id: ops']),
          '',
        ].join('\n'),
      );
    write(['keep', 'tmp']);
    const first = await serveUntilListening(configFile);
    expect(first).toContain('/mcp/tmp/ops');
    write(['keep']);
    const second = await serveUntilListening(configFile);
    // Before: only keep's endpoint and "tenants":1, while tmp's key kept working.
    expect(second).toContain('/mcp/keep/ops');
    expect(second).toContain('/mcp/tmp/ops');
    expect(second).toContain('Tenant tmp: not in');
    expect(second).toContain('"tenants":2');
  });
});
