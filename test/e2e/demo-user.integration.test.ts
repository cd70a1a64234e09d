import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';

/**
 * The demo user (issue 16): `gatehouse serve --demo` prints `user:` and `password:` lines; a person signs in with
 * them in Chromium and sees the account page; after a restart in the same folder the same lines are printed and
 * still sign in. The demo user owns the demo tenant: the printed console URL opens its overview.
 */
const bin = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const missing = chromiumMissing();

let folder: string;
let port: number;
let chromium: RunningChromium;

async function serveDemo(): Promise<{ child: ChildProcess; output: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [bin, 'serve', '--demo'], {
    cwd: folder,
    env: { PATH: process.env['PATH'] ?? '', HOME: folder, GATEHOUSE_LISTEN: `127.0.0.1:${port}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const started = Date.now();
  while (!/password: \S+/.test(output)) {
    if (child.exitCode !== null || Date.now() - started > 90_000) throw new Error(`demo did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    child,
    output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function signIn(name: string, password: string): Promise<string> {
  const context = await chromium.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/signin/demo`);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Password').fill(password);
    await Promise.all([page.waitForURL(/\/account\/demo$/), page.getByRole('button', { name: 'Sign in' }).click()]);
    await chromium.screenshot(page, 'demo-user-account');
    return (await page.locator('body').textContent()) ?? '';
  } finally {
    await context.close();
  }
}

describe.skipIf(missing !== undefined)('the demo user', () => {
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'gatehouse-demo-user-'));
    port = await freePort();
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('npm start prints user and password lines that sign in, the same after a restart', async () => {
    const first = await serveDemo();
    const user = /^\s*user: (\S+)$/m.exec(first.output)?.[1] as string;
    const password = /^\s*password: (\S+)$/m.exec(first.output)?.[1] as string;
    expect(user).toBe('demo');
    expect(password.length).toBeGreaterThanOrEqual(12);
    try {
      expect(await signIn(user, password)).toContain('Signed in to demo as demo');
    } finally {
      await first.stop();
    }
    const second = await serveDemo();
    try {
      expect(/^\s*password: (\S+)$/m.exec(second.output)?.[1]).toBe(password);
      expect(await signIn(user, password)).toContain('Signed in to demo as demo');
      const consoleUrl = /^\s*Console:\s+(\S+)/m.exec(second.output)?.[1] as string;
      expect(consoleUrl).toBe(`http://127.0.0.1:${port}/console/demo`);
      const context = await chromium.newContext();
      try {
        const page = await context.newPage();
        await page.goto(consoleUrl);
        await page.getByLabel('Name').fill(user);
        await page.getByLabel('Password').fill(password);
        await Promise.all([page.waitForURL(consoleUrl), page.getByRole('button', { name: 'Sign in' }).click()]);
        expect(await page.locator('h1').textContent()).toBe('Overview');
        expect(await page.locator('header').textContent()).toContain('(owner)');
        await chromium.screenshot(page, 'demo-console-overview');
      } finally {
        await context.close();
      }
    } finally {
      await second.stop();
    }
  });
});
