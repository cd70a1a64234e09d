import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';

/**
 * examples/oauth-local as a person follows it: start the example's authorization server and API, serve the
 * example's gatehouse.yaml (only its ports changed, so the suite can run beside anything on 8787), create a connect
 * link through the admin API, sign in as the operator and confirm the subject, sign in and consent in Chromium, then call the tools through the MCP SDK client.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const example = join(root, 'examples', 'oauth-local');
const missing = chromiumMissing();
const adminToken = 'example-admin-token-local-only';
const clientKey = 'gatehouse_sk_example_local_only_not_secret_0123456789';

let folder: string;
let ports: { as: number; api: number; gateway: number };
const children: ChildProcess[] = [];
let chromium: RunningChromium | undefined;

function start(args: string[], env: Record<string, string>, ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 60 s:\n${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
}

beforeAll(async () => {
  if (missing !== undefined) return;
  folder = mkdtempSync(join(tmpdir(), 'gatehouse-oauth-example-'));
  ports = { as: await freePort(), api: await freePort(), gateway: await freePort() };
  const config = readFileSync(join(example, 'gatehouse.yaml'), 'utf8')
    .replaceAll('127.0.0.1:9400', `127.0.0.1:${ports.as}`)
    .replaceAll('127.0.0.1:9401', `127.0.0.1:${ports.api}`)
    .replaceAll('127.0.0.1:8787', `127.0.0.1:${ports.gateway}`)
    .replace('./notes-api.openapi.yaml', join(example, 'notes-api.openapi.yaml'));
  writeFileSync(join(folder, 'gatehouse.yaml'), config);
  await start(
    [join(example, 'start.ts')],
    {
      EXAMPLE_AS_PORT: String(ports.as),
      EXAMPLE_API_PORT: String(ports.api),
      EXAMPLE_GATEHOUSE_URL: `http://127.0.0.1:${ports.gateway}`,
    },
    /Press Ctrl\+C to stop/,
  );
  await start([join(root, 'src', 'main.ts'), 'serve', '--config', join(folder, 'gatehouse.yaml')], {}, /listening on/);
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  for (const child of children) child.kill('SIGTERM');
  if (folder) rmSync(folder, { recursive: true, force: true });
});

describe.skipIf(missing !== undefined)('examples/oauth-local', () => {
  it('connects alice through the sign-in and consent pages in Chromium, then her agent writes and reads notes', async () => {
    const gatehouse = `http://127.0.0.1:${ports.gateway}`;
    const link = await fetch(`${gatehouse}/api/v1/tenants/example/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'notes', subject: 'alice' }),
    });
    expect(link.status).toBe(201);
    const { authorizeUrl } = (await link.json()) as { authorizeUrl: string };

    const page = await (await chromium!.newContext()).newPage();
    await page.goto(authorizeUrl);
    // alice is a key's subject, no user: the operator signs in with the admin token and confirms the subject.
    await page.getByText('Operator of this gateway?').click();
    await page.getByLabel('Admin token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in as operator' }).click();
    await page.getByRole('button', { name: /^Continue to / }).click();
    // oidc-provider's development sign-in page: any user name and password.
    await page.fill('input[name="login"]', 'alice');
    await page.fill('input[name="password"]', 'any password');
    await page.click('button[type="submit"]');
    // Its consent page, then back to Gatehouse's callback.
    await page.click('button[type="submit"]');
    await page.waitForURL((url) => url.href.startsWith(gatehouse), { timeout: 30_000 });
    await chromium!.screenshot(page, 'oauth-example-connected');
    expect(await page.textContent('body')).toMatch(/connected/i);

    const client = new Client({ name: 'oauth-example-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gatehouse}/mcp/example/notes`), {
        requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
      }),
    );
    const { tools } = await client.listTools();
    expect(
      tools
        .map((tool) => tool.name)
        .filter((name) => name.startsWith('notes_'))
        .sort(),
    ).toEqual(['notes_createNote', 'notes_listNotes']);
    const created = await client.callTool({
      name: 'notes_createNote',
      arguments: { body: { text: 'from the agent' } },
    });
    expect(created.isError).not.toBe(true);
    const listed = await client.callTool({ name: 'notes_listNotes', arguments: {} });
    expect(listed.isError).not.toBe(true);
    expect(listed.structuredContent).toMatchObject({ owner: 'alice', notes: [{ id: 1, text: 'from the agent' }] });
    await client.close();
  });
});
