/**
 * Issue 10 ("the first hour"): the CLI paths a new operator takes, run as child processes of the real `gatehouse`
 * command. Each test names the issue item it reproduces.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Whether the test had to kill it (it did not exit on its own within the time allowed). */
  readonly killed: boolean;
}

/** Runs `gatehouse args` in `cwd`; kills it after `timeoutMs` (a hang is a failure the result shows). */
function gatehouse(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number; until?: RegExp } = { cwd: tmpdir() },
): Promise<Finished & { child: ChildProcess }> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...options.env },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  let killed = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    const { until } = options;
    if (until !== undefined) {
      const check = () => {
        if (until.test(stdout)) {
          clearTimeout(timer);
          resolve({ code: null, stdout, stderr, killed, child });
        }
      };
      child.stdout.on('data', check);
    }
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed, child });
    });
  });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null | 'hung'> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('hung'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** A fresh folder holding `gatehouse.yaml` (upstream secrets and the client key come from the environment). */
function folderWithConfig(extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-first-hour-'));
  writeFileSync(
    join(dir, 'gatehouse.yaml'),
    `listen: 127.0.0.1:0
${extra}
tenants:
  - id: acme
    services:
      - id: fake
        openapi: ${fixture}
        baseUrl: http://127.0.0.1:9/
        auth: { type: apiKey, in: header, name: X-API-Key, value: "\${env:FAKE_KEY}" }
    toolsets:
      - id: support
        tools: ["fake_*"]
    clientKeys:
      - name: support-agent
        key: \${env:ACME_SUPPORT_KEY}
        toolsets: [support]
`,
  );
  return dir;
}

const otherMasterKey = Buffer.alloc(32, 9).toString('base64');

describe('gatehouse, the first hour (issue 10)', () => {
  it('(item 3) check does not need the secrets: it is valid and warns which variables serve will need', async () => {
    const cwd = folderWithConfig();
    const run = await gatehouse(['check', '--config', 'gatehouse.yaml', '--json'], { cwd });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { valid: boolean; warnings: { code: string; path: string }[] };
    expect(report.valid).toBe(true);
    expect(report.warnings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'env_unset', path: 'tenants[0].services[0].auth.value' }),
        expect.objectContaining({ code: 'env_unset', path: 'tenants[0].clientKeys[0].key' }),
      ]),
    );
  });

  it('(item 3) keys create and audit verify work without the upstream secrets or the key being created', async () => {
    const cwd = folderWithConfig();
    const keys = await gatehouse(
      ['keys', 'create', '--config', 'gatehouse.yaml', '--tenant', 'acme', '--toolset', 'support'],
      { cwd },
    );
    expect(keys.code).toBe(0);
    expect(keys.stdout.trim()).toMatch(/^gatehouse_sk_[A-Za-z0-9_-]{43}$/);
    const verify = await gatehouse(['audit', 'verify', '--config', 'gatehouse.yaml', '--tenant', 'acme', '--json'], {
      cwd,
    });
    expect(verify.code).toBe(0);
    expect((JSON.parse(verify.stdout) as { ok: boolean }).ok).toBe(true);
  });

  it('(item 3) serve still refuses an unset secret, naming the variable and its field path', async () => {
    const cwd = folderWithConfig();
    const run = await gatehouse(['serve', '--config', 'gatehouse.yaml'], {
      cwd,
      env: { ACME_SUPPORT_KEY: 'k'.repeat(30) },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('config_invalid');
    expect(run.stderr).toContain('FAKE_KEY');
    expect(run.stderr).toContain('tenants[0].services[0].auth.value');
  });

  it('(item 2) the development master key kept by keys create serves; another key is named as the cause', async () => {
    const cwd = folderWithConfig();
    const env = { FAKE_KEY: 'upstream-secret-123456', ACME_SUPPORT_KEY: 'k'.repeat(30) };
    const keys = await gatehouse(
      ['keys', 'create', '--config', 'gatehouse.yaml', '--tenant', 'acme', '--toolset', 'support'],
      { cwd, env },
    );
    expect(keys.code).toBe(0);
    // A different key, as the README used to print it (a new random key on every start).
    const wrong = await gatehouse(['serve', '--config', 'gatehouse.yaml'], {
      cwd,
      env: { ...env, GATEHOUSE_MASTER_KEY: otherMasterKey },
    });
    expect(wrong.killed).toBe(false);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('gatehouse: decrypt_failed:');
    expect(wrong.stderr).toContain('GATEHOUSE_MASTER_KEY');
    expect(wrong.stderr).toContain(join('.gatehouse', 'master.key'));
    // The kept key: serve starts, and stops on SIGTERM.
    const right = await gatehouse(['serve', '--config', 'gatehouse.yaml'], { cwd, env, until: /listening on/ });
    expect(right.stdout).toMatch(/Gatehouse listening on http:\/\/127\.0\.0\.1:\d+/);
    right.child.kill('SIGTERM');
    expect(await exited(right.child, 15_000)).toBe(0);
  });

  it('(item 4) check warns about a loopback upstream and names unsafeAllowPrivateUpstreams', async () => {
    const blocked = await gatehouse(['check', '--config', 'gatehouse.yaml', '--json'], { cwd: folderWithConfig() });
    const warnings = (JSON.parse(blocked.stdout) as { warnings: { code: string; path: string; message: string }[] })
      .warnings;
    const warning = warnings.find((w) => w.code === 'private_upstream');
    expect(warning?.path).toBe('tenants[0].services[0].baseUrl');
    expect(warning?.message).toContain('unsafeAllowPrivateUpstreams');
    const allowed = await gatehouse(['check', '--config', 'gatehouse.yaml', '--json'], {
      cwd: folderWithConfig('unsafeAllowPrivateUpstreams: ["127.0.0.1"]'),
    });
    expect((JSON.parse(allowed.stdout) as { warnings: { code: string }[] }).warnings.map((w) => w.code)).not.toContain(
      'private_upstream',
    );
  });

  it('(item 9) audit verify of an unknown tenant exits 2 and names the known ones', async () => {
    const cwd = folderWithConfig();
    const run = await gatehouse(['audit', 'verify', '--config', 'gatehouse.yaml', '--tenant', 'acmee'], { cwd });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('gatehouse: invalid_request:');
    expect(run.stderr).toContain("'acme'");
  });

  it('(item 7) a port in use names EADDRINUSE, the address and the setting; the process exits', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const run = await gatehouse(['serve', '--demo'], {
        cwd: mkdtempSync(join(tmpdir(), 'gatehouse-first-hour-')),
        env: { GATEHOUSE_LISTEN: `127.0.0.1:${port}` },
      });
      expect(run.killed).toBe(false);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('config_invalid');
      expect(run.stderr).toContain('EADDRINUSE');
      expect(run.stderr).toContain(`127.0.0.1:${port}`);
      expect(run.stderr).toContain('GATEHOUSE_LISTEN');
    } finally {
      busy.close();
    }
  });

  it('(item 7) a SQLite addon built for another Node.js names npm rebuild, and the process exits', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gatehouse-first-hour-'));
    // Not a shared object: process.dlopen fails with ERR_DLOPEN_FAILED, as it does after a Node.js switch.
    const addon = join(cwd, 'better_sqlite3.node');
    writeFileSync(addon, 'not a shared object\n');
    const run = await gatehouse(['serve', '--demo'], {
      cwd,
      env: { GATEHOUSE_LISTEN: '127.0.0.1:0', GATEHOUSE_SQLITE_NATIVE_BINDING: addon },
      timeoutMs: 20_000,
    });
    expect(run.killed).toBe(false);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('store_unavailable');
    expect(run.stderr).toContain('ERR_DLOPEN_FAILED');
    expect(run.stderr).toContain('npm rebuild better-sqlite3');
  });

  it('--version prints the package version', async () => {
    const { readFileSync } = await import('node:fs');
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const run = await gatehouse(['--version'], { cwd: tmpdir() });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });
});
