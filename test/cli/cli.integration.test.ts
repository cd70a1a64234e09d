import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));

function gatehouse(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, text.replaceAll('FIXTURE', fixture).replaceAll('DATA', dir));
  return file;
}

const validConfig = `
dataDir: DATA
tenants:
  - id: acme
    services:
      - id: fake
        openapi: FIXTURE
        baseUrl: http://127.0.0.1:9
        auth: { type: apiKey, in: header, name: X-API-Key, value: "\${env:FAKE_KEY}" }
    toolsets:
      - id: support
        tools: ["fake_*"]
        access: read
`;

describe('gatehouse CLI', () => {
  it('providers list and check print no oidc-provider runtime warning (the authorization server library loads only to serve)', () => {
    const list = gatehouse(['providers', 'list']);
    expect(list.code).toBe(0);
    expect(list.stderr).toBe('');
    const check = gatehouse(['check', '--config', writeConfig(validConfig)], { FAKE_KEY: 'k'.repeat(20) });
    expect(check.code).toBe(0);
    expect(check.stderr).not.toMatch(/oidc-provider|Unsupported runtime/);
  });

  it('check exits 2 naming the field path of a bad value', () => {
    const file = writeConfig(validConfig.replace('access: read', 'access: admin'));
    const { code, stderr } = gatehouse(['check', '--config', file], { FAKE_KEY: 'k'.repeat(20) });
    expect(code).toBe(2);
    expect(stderr).toContain('tenants[0].toolsets[0].access');
  });

  it('check does not need a secret: it names the unset variable and its field path in a warning', () => {
    const file = writeConfig(validConfig);
    const { code, stdout } = gatehouse(['check', '--config', file]);
    expect(code).toBe(0);
    expect(stdout).toContain('FAKE_KEY');
    expect(stdout).toContain('tenants[0].services[0].auth.value');
  });

  it('check lists each toolset with token sizes', () => {
    const file = writeConfig(validConfig);
    const { code, stdout } = gatehouse(['check', '--config', file, '--json'], { FAKE_KEY: 'secret-value-123456' });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      toolsets: { toolset: string; listTokens: number; tools: { name: string }[] }[];
    };
    expect(report.toolsets[0]?.toolset).toBe('support');
    expect(report.toolsets[0]?.tools.map((t) => t.name).sort()).toEqual(['fake_getItem', 'fake_listItems']);
    expect(report.toolsets[0]?.listTokens).toBeGreaterThan(50);
    expect(stdout).not.toContain('secret-value-123456');
  });

  it('import previews the tools of a description as JSON and as a table', () => {
    const json = gatehouse(['import', fixture, '--service', 'fake', '--json']);
    expect(json.code).toBe(0);
    const preview = JSON.parse(json.stdout) as {
      tools: { name: string; method: string; safety: string; tokens: number }[];
    };
    expect(preview.tools.find((t) => t.name === 'fake_deleteItem')).toMatchObject({
      method: 'DELETE',
      safety: 'destructive',
    });
    expect(preview.tools.every((t) => t.tokens > 0)).toBe(true);
    const table = gatehouse(['import', fixture]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/api_createItem\s+POST\s+\/items\s+write/);
  });

  it('import of something that is not a description exits 2', () => {
    const file = writeConfig('just: yaml\n');
    const { code, stderr } = gatehouse(['import', file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/gatehouse: /);
  });

  it('keys create prints a key once and stores only its hash', async () => {
    const file = writeConfig(validConfig);
    const env = { FAKE_KEY: 'secret-value-123456', GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
    const { code, stdout } = gatehouse(
      ['keys', 'create', '--config', file, '--tenant', 'acme', '--toolset', 'support'],
      env,
    );
    expect(code).toBe(0);
    const key = stdout.trim();
    expect(key).toMatch(/^gatehouse_sk_[A-Za-z0-9_-]{43}$/);
    const { readFileSync } = await import('node:fs');
    const db = readFileSync(join(file, '..', 'gatehouse.db'));
    expect(db.includes(Buffer.from(key))).toBe(false);
    const unknown = gatehouse(['keys', 'create', '--config', file, '--tenant', 'acme', '--toolset', 'nope'], env);
    expect(unknown.code).toBe(2);
  });

  it('unknown commands and options exit 2 with usage', () => {
    expect(gatehouse(['frobnicate']).code).toBe(2);
    expect(gatehouse(['check', '--nope']).code).toBe(2);
  });
});
