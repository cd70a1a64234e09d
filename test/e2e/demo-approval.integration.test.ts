import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';

/**
 * The README's demo tour, step 3, as a person does it (review finding 7 must not break it): `gatehouse serve
 * --demo` in an empty folder, a destructive call answers with an approval link, the person opens it in Chromium,
 * pastes the demo admin token the start-up output points to, presses Approve, and the call then runs once.
 */
const bin = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const missing = chromiumMissing();

let folder: string;
let child: ChildProcess | undefined;
let output = '';
let url: string;
let chromium: RunningChromium;

async function call(name: string, args: Record<string, unknown>) {
  const key = readFileSync(join(folder, '.gatehouse', 'demo-client-key'), 'utf8').trim();
  const response = await fetch(`${url}/mcp/demo/assistant`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
  return (await response.json()) as {
    result: {
      isError?: boolean;
      structuredContent?: Record<string, unknown> & { error?: { code: string; details: Record<string, unknown> } };
    };
  };
}

describe.skipIf(missing !== undefined)('the demo tour: approving a destructive call in a browser', () => {
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [bin, 'serve', '--demo'], {
      cwd: folder,
      env: { PATH: process.env['PATH'] ?? '', HOME: folder, GATEHOUSE_LISTEN: `127.0.0.1:${port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const started = Date.now();
    while (!output.includes('Demo tenant ready')) {
      if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`demo did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(folder, { recursive: true, force: true });
  });

  it('17.7 (review finding 7) step 3 works for a person: the start-up output names the token, the page takes it, the call runs once', async () => {
    expect(output).toContain('.gatehouse/demo-admin-token');
    const listed = await call('tasks_listTasks', {});
    const tasks = JSON.stringify(listed.result.structuredContent);
    const taskId = /"id":"([^"]+)"/.exec(tasks)?.[1] as string;
    expect(taskId).toBeDefined();

    const asked = await call('tasks_deleteTask', { taskId });
    expect(asked.result.structuredContent?.error?.code).toBe('approval_required');
    const link = String(asked.result.structuredContent?.error?.details['approvalUrl']);

    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(link);
    await chromium.screenshot(page, 'demo-approval-page');
    const token = readFileSync(join(folder, '.gatehouse', 'demo-admin-token'), 'utf8').trim();
    await page.getByLabel('Approver token').fill(token);
    const [decided] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Approve this call once' }).click(),
    ]);
    expect(decided.status()).toBe(200);
    await context.close();

    const ran = await call('tasks_deleteTask', { taskId });
    expect(ran.result.isError).toBeFalsy();
    const again = await call('tasks_deleteTask', { taskId });
    expect(again.result.structuredContent?.error?.code).toBe('approval_required');
  });
});
