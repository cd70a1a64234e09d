import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * The console in a real browser (issue 14): Debian's Chromium through playwright-core signs in, reads the overview
 * after a real MCP client (the SDK) made tool calls, filters the audit log, verifies the chain and exports it,
 * approves a destructive call from the inbox (whose arguments carry a bidi override), creates a client key that an
 * MCP client then uses and revokes it, and creates a connect link. The suite fails on any console message of type
 * error (a CSP violation is one), any uncaught page error and any failed request or error answer.
 * Screenshots: test-results/console/*.png.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_console_e2e_0123456789abcdef';
const password = 'console-owner-password-0123';
const missing = chromiumMissing();

let api: FakeApi;
let gateway: TestGateway;
let chromium: RunningChromium;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

async function mcpClient(key: string): Promise<Client> {
  const client = new Client({ name: 'console-e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/acme/all`), {
      requestInit: { headers: { Authorization: `Bearer ${key}` } },
    }),
  );
  return client;
}

interface ToolResult {
  readonly isError?: boolean;
  readonly structuredContent?: { readonly error?: { readonly code?: string } };
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

async function shot(name: string): Promise<void> {
  await chromium.screenshot(page, `console/${name}`);
}

describe.skipIf(missing !== undefined)('the console in Chromium', () => {
  beforeAll(async () => {
    api = await startFakeApi();
    gateway = await startTestGateway({
      adminToken: 'console-e2e-admin-token-0123456789',
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [
            { id: 'open', openapi: description, baseUrl: `${api.url}/v1`, auth: { type: 'none' } },
            {
              id: 'crm',
              openapi: description,
              baseUrl: `${api.url}/crm`,
              auth: {
                type: 'oauth2',
                authorizationUrl: `${api.url}/authorize`,
                tokenUrl: `${api.url}/token`,
                clientId: 'crm-client',
                clientSecret: 'crm-client-secret-0123456789',
                scopes: ['read'],
              },
            },
          ],
          toolsets: [{ id: 'all', tools: ['open_*'], access: 'write', approval: 'destructive' }],
          clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
        },
      ],
    });
    const users = gateway.gateway.users!;
    const created = await users.createUser('acme', { name: 'olivia', displayName: 'Olivia Owner' }, 'operator');
    await users.acceptInvite(created.inviteUrl.split('/invite/')[1] as string, password);
    await users.roles.grantRole('acme', created.user.id, 'owner', 'operator');
    // An account whose refresh the service refused: the overview lists it as needing attention.
    await gateway.adapters.store.connections.upsert({
      tenantId: 'acme',
      id: 'conn_bob_crm',
      service: 'crm',
      subject: 'bob',
      status: 'needs_reauth',
      scopes: ['read'],
      accessToken: null,
      refreshToken: null,
      accessExpiresAt: Date.now() - 60_000,
      createdAt: Date.now(),
    });

    chromium = await launchChromium();
    context = await chromium.newContext();
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => {
      // A download is handed to the download manager, which Chromium reports as an aborted navigation.
      if (request.url().includes('/audit/export')) return;
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    page.on('dialog', (dialog) => void dialog.accept());
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gateway?.close();
    await api?.close();
  });

  it('signs in and shows the overview with the calls a real MCP client made', async () => {
    const client = await mcpClient(clientKey);
    for (let i = 0; i < 3; i++) expect((await call(client, 'open_listItems', { limit: 5 })).isError).toBeFalsy();
    expect((await call(client, 'open_getItem', { itemId: 'i1' })).isError).toBeFalsy();
    // A name no tool has: counted under one row for every such name (callers cannot add rows at will).
    const unknown = await call(client, 'open_noSuchTool', {}).catch((error: unknown) => error);
    expect(unknown).toMatchObject({ code: -32602 });
    await client.close();
    await gateway.adapters.audit?.flush();

    await page.goto(`${gateway.url}/console/acme`);
    expect(new URL(page.url()).pathname).toBe('/signin/acme');
    await page.getByLabel('Name').fill('olivia');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${gateway.url}/console/acme`);
    await expect.poll(async () => (await page.locator('h1').textContent()) ?? '').toBe('Overview');
    const main = page.locator('main');
    // The calls are counted in memory first; a view writes them once the oldest is 5 s old (overview-page.ts), so
    // a person reloading sees them within seconds, and a page view does not write each time.
    await expect
      .poll(
        async () => {
          await page.reload();
          // The value alone: the card's label "Calls, 14 days" contains a 4 of its own.
          return main.locator('.card .value').first().textContent();
        },
        { timeout: 20_000, interval: 1_000 },
      )
      .toBe('5');
    expect(await main.getByRole('img', { name: /Calls, errors and denials per day/ }).count()).toBe(1);
    expect(await main.getByRole('img', { name: /per hour/ }).count()).toBe(2);
    const tools = await main.locator('table').first().textContent();
    expect(tools).toContain('open_listItems');
    expect(tools).toContain('open_getItem');
    // console_unknown_tool_row: that row names what it counts and links nowhere (the audit log keeps the names).
    expect(tools).toContain('Unknown tool names');
    expect(tools).not.toContain('_unknown');
    expect(
      await main
        .locator('table')
        .first()
        .getByRole('link', { name: /unknown/i })
        .count(),
    ).toBe(0);
    expect(await main.textContent()).toContain('connect again');
    await shot('overview');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await shot('overview-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('filters the audit log by tool, verifies the chain and exports NDJSON', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Audit' }).click();
    await page.waitForURL(/\/console\/acme\/audit$/);
    await page.getByLabel('Tool', { exact: true }).fill('open_getItem');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/tool=open_getItem/);
    const rows = page.locator('main tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('open_getItem');
    await shot('audit-filtered');

    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await expect.poll(() => page.locator('.notice').textContent()).toContain('The audit chain is intact');
    await shot('audit-verified');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: /Export NDJSON/ }).click(),
    ]);
    const lines = readFileSync((await download.path()) as string, 'utf8')
      .trim()
      .split('\n');
    const records = lines.map((line) => JSON.parse(line) as { tool: string; kind: string });
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.tool === 'open_getItem')).toBe(true);
  });

  it('approves a destructive call from the inbox, its arguments shown exactly, and the call then runs once', async () => {
    const client = await mcpClient(clientKey);
    const itemId = 'report\u202Efdp.exe';
    const first = await call(client, 'open_deleteItem', { itemId });
    expect(first.structuredContent?.error?.code).toBe('approval_required');

    await page.getByRole('navigation').getByRole('link', { name: 'Approvals' }).click();
    const card = page.locator('section.approval');
    expect(await card.count()).toBe(1);
    expect(await card.locator('pre.args').innerHTML()).toContain('report<mark class="ctl">U+202E</mark>fdp.exe');
    await shot('approvals-pending');
    await card.getByRole('button', { name: /^Approve/ }).click();
    await expect.poll(() => page.locator('.notice').textContent()).toContain('Approved open_deleteItem');
    expect(await page.locator('section.approval').count()).toBe(0);
    expect(await page.locator('main table').textContent()).toContain('approved');
    await shot('approvals-history');

    const before = api.received.filter((r) => r.method === 'DELETE').length;
    const second = await call(client, 'open_deleteItem', { itemId });
    expect(second.isError).toBeFalsy();
    expect(api.received.filter((r) => r.method === 'DELETE').length).toBe(before + 1);
    await client.close();
  });

  it('creates a client key shown once, an MCP client uses it, and revoking it stops it', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Users and keys' }).click();
    await page.getByLabel('Key name').fill('ci-agent');
    await page.getByLabel('all').check();
    await page.getByLabel('Acts for (subject)').fill('alice');
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => page.locator('.notice').textContent()).toContain('Created the client key ci-agent');
    const key = ((await page.locator('#shown-once').textContent()) ?? '').trim();
    expect(key).toMatch(/^gatehouse_sk_/);
    await shot('users-key-created');

    const client = await mcpClient(key);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('open_listItems');
    await client.close();

    // Opened again (not reloaded: that would post the form again), the page no longer shows the key.
    await page.getByRole('navigation').getByRole('link', { name: 'Users and keys' }).click();
    expect(await page.locator('#shown-once').count()).toBe(0);
    expect(await page.content()).not.toContain(key);
    await page.getByRole('button', { name: 'Revoke ci-agent' }).click();
    await expect.poll(() => page.locator('.notice').textContent()).toContain('Client key revoked');
    await shot('users-key-revoked');
    const refused = await fetch(`${gateway.url}/mcp/acme/all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
  });

  it('lists connections with their state and creates a connect link for a user', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Connections' }).click();
    const row = page.locator('main tbody tr', { hasText: 'bob' });
    expect(await row.textContent()).toContain('needs_reauth');
    await page.getByLabel('Service').selectOption('crm');
    await page.getByLabel('For (subject)').fill('alice');
    await page.getByRole('button', { name: 'Create connect link' }).click();
    await expect.poll(() => page.locator('.notice').textContent()).toContain('A connect link for crm (alice) is ready');
    expect(await page.locator('#connect-link').getAttribute('href')).toMatch(/\/connect\//);
    // alice is a key's subject, no user's: the box says who may open the link (not "send it to the person").
    expect(await page.locator('.secret small').textContent()).toContain(
      'only an owner or admin of this tenant can open this link (you can)',
    );
    await shot('connections');
  });

  it('raised no console error, page error or failed request on any page', () => {
    expect(problems).toEqual([]);
  });
});
