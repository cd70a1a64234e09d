/**
 * Issue 10 item 5: the npm package. `npm pack` builds (prepack: tsc to dist/) and packs a tarball; installed into a
 * fresh folder it gives a working `gatehouse` command that runs the compiled JavaScript with no TypeScript loader.
 * No network here: the tarball's production dependencies are linked from this checkout's node_modules (only the
 * direct ones, so the installed package resolves nothing else from the checkout), then npm installs the tarball
 * offline.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(command: string, args: readonly string[], cwd: string) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' },
    timeout: 240_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the npm package (issue 10 item 5)', () => {
  it('is named so that npx cannot resolve it to the unrelated `gatehouse` package, and needs no tsx at run time', () => {
    expect(manifest.name).toBe('mcp-gatehouse');
    expect(manifest.dependencies['tsx']).toBeUndefined();
    expect(manifest.devDependencies['tsx']).toBeDefined();
  });

  it('npm pack gives a tarball whose installed gatehouse command runs dist/ (version, check, serve)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'gatehouse-package-'));
    const packed = run(npm, ['pack', '--pack-destination', work, '--json'], root);
    expect(packed.code, packed.stderr).toBe(0);
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const paths = files.map((f) => f.path);
    expect(paths).toContain('dist/main.js');
    expect(paths).toContain('bin/gatehouse.js');
    expect(paths.some((p) => p.startsWith('src/') || p.endsWith('.ts'))).toBe(false);

    const app = join(work, 'app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    for (const name of Object.keys(manifest.dependencies)) {
      mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true });
      symlinkSync(join(root, 'node_modules', name), join(app, 'node_modules', name), 'dir');
    }
    const installed = run(
      npm,
      ['install', join(work, filename), '--offline', '--ignore-scripts', '--no-audit', '--no-fund'],
      app,
    );
    expect(installed.code, installed.stderr).toBe(0);
    const gatehouse = join(app, 'node_modules', '.bin', 'gatehouse');

    // The installed package cannot reach a TypeScript loader, and does not need one.
    const tsx = run(process.execPath, ['-e', "require.resolve('tsx')"], join(app, 'node_modules', manifest.name));
    expect(tsx.code).not.toBe(0);
    expect(run(gatehouse, ['--version'], app)).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });

    copyFileSync(join(root, 'examples', 'notes-api', 'openapi.yaml'), join(app, 'notes.openapi.yaml'));
    writeFileSync(
      join(app, 'gatehouse.yaml'),
      'tenants:\n  - id: acme\n    services:\n      - id: notes\n        openapi: ./notes.openapi.yaml\n        baseUrl: https://notes.example.com\n    toolsets:\n      - id: support\n',
    );
    const checked = run(gatehouse, ['check', '--config', 'gatehouse.yaml', '--json'], app);
    expect(checked.code, checked.stderr).toBe(0);
    expect(
      (JSON.parse(checked.stdout) as { toolsets: { tools: unknown[] }[] }).toolsets[0]?.tools.length,
    ).toBeGreaterThan(0);

    // The query evaluator's worker process (a separate file) runs from dist/ too, without tsx.
    const evaluator = join(app, 'node_modules', manifest.name, 'dist', 'shaping', 'create-query-evaluator.js');
    const query = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { createQueryEvaluator } = await import(${JSON.stringify(evaluator)});
         const evaluator = createQueryEvaluator();
         const answer = await evaluator.evaluate({ tenant: 't', key: 'k', text: '{"a":[1,2,3]}', expression: 'length(a)' });
         await evaluator.close();
         process.stdout.write(JSON.stringify(answer));`,
      ],
      app,
    );
    expect(query.code, query.stderr).toBe(0);
    expect(JSON.parse(query.stdout)).toEqual({ kind: 'value', value: 3 });

    // serve --demo from the installed package: listening, then a clean stop on SIGTERM.
    const server = spawn(gatehouse, ['serve', '--demo'], {
      cwd: app,
      env: { PATH: process.env['PATH'] ?? '', GATEHOUSE_LISTEN: '127.0.0.1:0' },
    });
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => server.kill('SIGKILL'), 60_000);
      server.stdout.on('data', () => {
        if (/Demo tenant ready/.test(out)) server.kill('SIGTERM');
      });
      server.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(out).toMatch(/Gatehouse listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(code).toBe(0);
  }, 300_000);

  it('npm install leaves package-lock.json as committed', () => {
    const copy = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(root, file), join(copy, file));
    execFileSync(npm, ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: copy,
      stdio: 'ignore',
    });
    expect(readFileSync(join(copy, 'package-lock.json'), 'utf8')).toBe(
      readFileSync(join(root, 'package-lock.json'), 'utf8'),
    );
  }, 120_000);
});
