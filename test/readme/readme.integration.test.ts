/**
 * Issue 10: the README, followed literally in a temporary folder. The shell blocks of the quick start, the tour and
 * "Running your own APIs" are read from README.md and run with bash as printed; the YAML block becomes
 * `gatehouse.yaml`; curl talks real HTTP. What differs from a person at a terminal, and why:
 * - the folder links this checkout's package.json, bin/, src/, examples/ and node_modules/ instead of being a clone,
 *   and `npm install` is a no-op (node_modules is linked; there is no network here). `npm start` and
 *   `npx --no-install gatehouse` are the real npm and npx;
 * - the ports 8787 (gateway) and 4010 (notes API) are replaced by free ones (GATEHOUSE_LISTEN, PORT and the same
 *   text substitution in commands and YAML), so the suite can run beside other gateways;
 * - commands that keep running (npm start, serve, the notes API) are started in the background, and the next block
 *   runs once they print that they are ready, as a person would wait before typing the next command.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium } from '../support/launch-chromium.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

interface Block {
  readonly lang: string;
  readonly code: string;
}

/** The fenced blocks of the README section under `heading` (up to the next `## `), or before the first `## `. */
function blocksOf(heading: string | undefined): Block[] {
  const start = heading === undefined ? 0 : readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section '## ${heading}'`);
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? '', code: m[2] ?? '' }));
}

const background: ChildProcess[] = [];
afterAll(() => {
  for (const child of background) stop(child);
});

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}

describe('README, followed literally', () => {
  it('quick start, tour and Running your own APIs work as printed', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'gatehouse-readme-'));
    for (const entry of ['package.json', 'bin', 'src', 'examples', 'node_modules', 'tsconfig.json']) {
      symlinkSync(join(root, entry), join(folder, entry));
    }
    // `npm install` is already done (node_modules is linked); every other npm command is the real one.
    const shims = join(folder, '.shims');
    mkdirSync(shims);
    const realNpm = execFileSync('bash', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
    writeFileSync(
      join(shims, 'npm'),
      `#!/usr/bin/env bash\nif [ "$1" = install ]; then echo "node_modules linked from the checkout"; exit 0; fi\nexec ${realNpm} "$@"\n`,
    );
    chmodSync(join(shims, 'npm'), 0o755);
    const gatewayPort = await freePort();
    const notesPort = await freePort();
    const env = {
      PATH: `${shims}:${process.env['PATH'] ?? ''}`,
      HOME: process.env['HOME'] ?? folder,
      GATEHOUSE_LISTEN: `127.0.0.1:${gatewayPort}`,
      PORT: String(notesPort),
    };
    const localise = (text: string) =>
      text
        .replaceAll('127.0.0.1:8787', `127.0.0.1:${gatewayPort}`)
        .replaceAll('127.0.0.1:4010', `127.0.0.1:${notesPort}`);

    /** Runs a block with bash; returns its stdout (exit code 0 required). */
    const runBlock = (block: Block): string => {
      const result = spawnSync('bash', ['-eo', 'pipefail', '-c', localise(block.code)], {
        cwd: folder,
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(result.status, `${block.code}\n${result.stderr}`).toBe(0);
      return result.stdout;
    };
    /** Starts a block that keeps running; resolves with its output so far once `ready` matches it. */
    const startBlock = (block: Block, ready: RegExp): Promise<{ child: ChildProcess; output: () => string }> => {
      const child = spawn('bash', ['-c', localise(block.code)], { cwd: folder, env, detached: true });
      background.push(child);
      let output = '';
      let errors = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        errors += chunk.toString();
      });
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not ready: ${block.code}\n${output}\n${errors}`)), 90_000);
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (ready.test(output)) {
            clearTimeout(timer);
            resolve({ child, output: () => output });
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${block.code}\n${output}\n${errors}`)));
      });
    };
    const toolResult = (body: string) => {
      const json = body.startsWith('event:')
        ? (body
            .split('\n')
            .find((line) => line.startsWith('data: '))
            ?.slice(6) ?? '')
        : body;
      return (JSON.parse(json) as { result: { isError?: boolean; content: { type: string; text: string }[] } }).result;
    };

    // Quick start: the two set-up commands; the tour's step 1 shows what `npm start` prints.
    const [setUp] = blocksOf(undefined).filter((b) => b.lang === 'sh');
    expect(setUp?.code).toMatch(/^npm install\b[^\n]*\nnpm start\b/);
    const tour = blocksOf('A two-minute tour');
    const printed = tour.find((b) => b.lang === '');
    const started = await startBlock(setUp as Block, /Client key:.*\n/);
    let from = 0;
    const output = started.output();
    for (const line of localise(printed?.code ?? '')
      .split('\n')
      .filter((l) => l.trim() !== '')) {
      const pattern = new RegExp(line.split('…').map(escapeRegExp).join('.*?'));
      const match = pattern.exec(output.slice(from));
      expect(match, `README line not printed by npm start: ${line}\n${output}`).not.toBeNull();
      from += (match?.index ?? 0) + (match?.[0].length ?? 0);
    }

    // Tour step 2: the curl call with the demo client key.
    const [curlDemo, deleteBlock, auditBlock] = tour.filter((b) => b.lang === 'sh');
    const listed = toolResult(runBlock(curlDemo as Block));
    expect(listed.isError ?? false).toBe(false);
    expect(listed.content[0]?.text).toContain('open');

    // Tour step 3: the destructive call answers with an approval link; a person opens it in Chromium, pastes the
    // demo admin token, presses Approve, and the same call (the same block, run again) then runs once.
    const asked = toolResult(runBlock(deleteBlock as Block)) as unknown as {
      isError?: boolean;
      structuredContent?: { error?: { code: string; details: { approvalUrl?: string } } };
    };
    expect(asked.isError).toBe(true);
    expect(asked.structuredContent?.error?.code).toBe('approval_required');
    const approvalUrl = String(asked.structuredContent?.error?.details.approvalUrl);
    expect(approvalUrl.startsWith(`http://127.0.0.1:${gatewayPort}/`)).toBe(true);
    if (chromiumMissing() === undefined) {
      const chromium = await launchChromium();
      try {
        const page = await (await chromium.newContext()).newPage();
        await page.goto(approvalUrl);
        await page
          .getByLabel('Approver token')
          .fill(readFileSync(join(folder, '.gatehouse', 'demo-admin-token'), 'utf8').trim());
        await page.getByRole('button', { name: 'Approve this call once' }).click();
        await page.getByText(/was approved/).waitFor();
        await chromium.screenshot(page, 'readme-tour-approved');
      } finally {
        await chromium.close();
      }
      const ran = toolResult(runBlock(deleteBlock as Block));
      expect(ran.isError ?? false).toBe(false);
      const again = toolResult(runBlock(deleteBlock as Block)) as unknown as { isError?: boolean };
      expect(again.isError).toBe(true); // single use: a third call needs a new approval
    }

    // Tour step 4: the audit log through the admin API, the metrics, and audit verify.
    const audit = runBlock(auditBlock as Block);
    expect(audit).toMatch(/"tool":"tasks_listTasks"/);
    expect(audit).toMatch(/^gatehouse_tool_calls/m);
    expect(audit).toMatch(/Audit chain of tenant demo is intact: [1-9]\d* records/);
    stop(started.child);
    await new Promise((resolve) => started.child.once('exit', resolve));

    // Running your own APIs: the notes API, gatehouse.yaml, preview/check/keys (no NOTES_API_KEY), serve, a call.
    const own = blocksOf('Running your own APIs');
    const [notesApi, prepare, serve, call] = own.filter((b) => b.lang === 'sh');
    const config = own.find((b) => b.lang === 'yaml');
    await startBlock(notesApi as Block, /Notes API on/);
    writeFileSync(join(folder, 'gatehouse.yaml'), localise(config?.code ?? ''));
    const prepared = runBlock(prepare as Block);
    expect(prepared).toMatch(/notes_listNotes\s+GET\s+\/notes/);
    expect(prepared).toContain('Configuration is valid');
    // The loopback upstream is allowed by name; the one warning is the secret serve will need.
    expect(prepared).not.toContain('unsafeAllowPrivateUpstreams');
    expect(prepared.match(/warning: /g)).toHaveLength(1);
    expect(prepared).toContain('NOTES_API_KEY');
    expect(readFileSync(join(folder, 'acme-support.key'), 'utf8').trim()).toMatch(/^gatehouse_sk_[A-Za-z0-9_-]{43}$/);
    await startBlock(serve as Block, /listening on/);
    const notes = toolResult(runBlock(call as Block));
    expect(notes.isError ?? false).toBe(false);
    expect(notes.content[0]?.text).toContain('Try Gatehouse with your own API');
  }, 400_000);
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
