import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import {
  type ScriptedAuthorizationServer,
  startScriptedAuthorizationServer,
} from '../support/start-scripted-authorization-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 11, in Chromium: an Atlassian account that can reach two sites, against a fake Atlassian authorization
 * server (its consent page, `audience`, rotating refresh tokens) and a fake accessible-resources endpoint and Jira
 * API on 127.0.0.1. The person connects, picks the second site on the chooser, and a tool call goes to that site.
 * A failed token exchange shows its cause and a "Try again" link that starts a fresh connect. The same chooser
 * offers a Xero account's organisations (Xero's connections endpoint), whose id goes in `xero-tenant-id`.
 */

const adminToken = 'admin-token-site-chooser-0123456789';
const clientKey = 'gatehouse_sk_site_chooser_0123456789';
const clientSecret = 'atlassian-client-secret-site-chooser';
const firstSite = '11111111-2222-4333-8444-000000000001';
const secondSite = '11111111-2222-4333-8444-000000000002';
const firstOrganisation = '22222222-3333-4444-8555-000000000001';
const secondOrganisation = '22222222-3333-4444-8555-000000000002';

let as: ScriptedAuthorizationServer;
let api: FakeApi;
let gateway: TestGateway;
let chromium: RunningChromium;
/** What the token endpoint does next: Atlassian's answer, or a refusal of the code. */
let tokenAnswer: 'tokens' | 'refuse' = 'tokens';

const missing = chromiumMissing();

describe.skipIf(missing !== undefined)('Atlassian site chooser in Chromium (issue 11)', () => {
  beforeAll(async () => {
    as = await startScriptedAuthorizationServer();
    api = await startFakeApi();
    // Atlassian's consent page: the person accepts, the browser goes back to the redirect URI with code and state.
    as.onAuthorize((request, res) => {
      const back = new URL(request.query.get('redirect_uri') ?? '');
      back.searchParams.set('code', `code-${Date.now()}-0123456789`);
      back.searchParams.set('state', request.query.get('state') ?? '');
      const audience = request.query.get('audience') ?? '';
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(
          `<!doctype html><title>Atlassian consent</title><h1>Gatehouse test app wants access (${audience})</h1><a id="accept" href="${back.href.replace(/&/g, '&amp;')}">Accept</a>`,
        );
    });
    let issued = 0;
    as.onToken((request, res) => {
      if (tokenAnswer === 'refuse') {
        res.writeHead(403, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            error: 'invalid_grant',
            error_description: `Unknown or invalid authorization code ${request.form.get('code')} <script>x</script>`,
          }),
        );
        return;
      }
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          access_token: `atl-access-${issued}-0123456789`,
          refresh_token: `atl-refresh-${issued}-0123456789`,
          token_type: 'Bearer',
          expires_in: 3600,
          scope: 'read:jira-work read:jira-user offline_access',
        }),
      );
    });
    api.handle((request, res) => {
      if (request.path === '/oauth/token/accessible-resources') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify([
            {
              id: firstSite,
              name: 'Acme Engineering',
              url: 'https://acme-eng.atlassian.net',
              scopes: ['read:jira-work', 'read:jira-user'],
            },
            {
              id: secondSite,
              name: 'Acme Support',
              url: 'https://acme-support.atlassian.net',
              scopes: ['read:jira-work', 'read:jira-user'],
            },
          ]),
        );
        return;
      }
      if (request.path === '/connections') {
        // Xero: a practice manager's tenant (never offered) and two organisations, one of them listed twice.
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify([
            { id: 'c0', tenantId: '99999999-9999-4999-8999-999999999999', tenantType: 'PRACTICEMANAGER' },
            { id: 'c1', tenantId: firstOrganisation, tenantType: 'ORGANISATION', tenantName: 'Acme Ltd' },
            { id: 'c2', tenantId: secondOrganisation, tenantType: 'ORGANISATION', tenantName: 'Acme Holdings' },
            { id: 'c3', tenantId: secondOrganisation, tenantType: 'ORGANISATION', tenantName: 'Acme Holdings' },
          ]),
        );
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ accountId: 'a-1', displayName: 'Ada', self: request.path }));
    });
    const port = await freePort();
    gateway = await startTestGateway(
      {
        adminToken,
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        // This suite tests the OAuth flow, not who opens a link (test/e2e/connect-link-binding): links open alone.
        connectLinks: { unsafeLinkAloneConnects: true },
        tenants: [
          {
            id: 'acme',
            services: [
              {
                provider: 'jira',
                clientId: 'atlassian-client',
                clientSecret,
                scopes: ['read:jira-work', 'read:jira-user', 'offline_access'],
                baseUrl: `${api.url}/ex/jira/{cloudId}/rest/api/3`,
                auth: {
                  authorizationUrl: `${as.url}/authorize`,
                  tokenUrl: `${as.url}/token`,
                  accessibleResourcesUrl: `${api.url}/oauth/token/accessible-resources`,
                },
              },
              {
                provider: 'xero',
                clientId: 'xero-client',
                clientSecret: 'xero-client-secret-site-chooser',
                scopes: ['offline_access', 'accounting.settings.read'],
                openapi: fileURLToPath(new URL('../fixtures/xero-organisation.openapi.yaml', import.meta.url)),
                baseUrl: `${api.url}/xero`,
                auth: {
                  authorizationUrl: `${as.url}/authorize`,
                  tokenUrl: `${as.url}/token`,
                  connectionsUrl: `${api.url}/connections`,
                },
              },
            ],
            toolsets: [{ id: 'all', tools: ['*'], access: 'read' }],
            clientKeys: [{ name: 'ada', key: clientKey, toolsets: ['all'], subject: 'ada' }],
          },
        ],
      },
      { port },
    );
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await gateway?.close();
    await api?.close();
    await as?.close();
  });

  async function connectLink(service = 'jira', subject = 'ada'): Promise<string> {
    const created = await fetch(`${gateway.url}/api/v1/tenants/acme/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service, subject }),
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { authorizeUrl: string }).authorizeUrl;
  }

  it('connect, see both sites, a forged site id is refused, pick the second: a tool call reaches the second site', async () => {
    tokenAnswer = 'tokens';
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(await connectLink());
    expect(await page.title()).toBe('Atlassian consent');
    const authorize = as.received.filter((r) => r.path === '/authorize').at(-1);
    expect(authorize?.query.get('audience')).toBe('api.atlassian.com');
    expect(authorize?.query.get('prompt')).toBe('consent');
    await page.click('#accept');

    await page.waitForURL(/\/oauth\/callback\?/);
    expect(await page.locator('h1').textContent()).toBe('Choose a site');
    const labels = await page.locator('label.site').allTextContents();
    expect(labels.map((l) => l.replace(/\s+/g, ' ').trim())).toEqual([
      'Acme Engineering https://acme-eng.atlassian.net',
      'Acme Support https://acme-support.atlassian.net',
    ]);
    const chooserUrl = page.url();
    await chromium.screenshot(page, 'atlassian-site-chooser');
    // Nothing is connected before the person chooses.
    const before = await fetch(`${gateway.url}/api/v1/tenants/acme/connections`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(((await before.json()) as { connections: unknown[] }).connections).toEqual([]);

    // A forged site id (the radio's value changed in the page): refused, naming the field and the sites.
    await page.locator(`input[value="${secondSite}"]`).evaluate((input, forged) => {
      (input as { value: string }).value = forged;
    }, '99999999-0000-4000-8000-000000000000');
    await page.check('input[value="99999999-0000-4000-8000-000000000000"]');
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/oauth\/callback\/site$/);
    const refused = (await page.locator('body').textContent()) ?? '';
    expect(refused).toContain(
      "site: '99999999-0000-4000-8000-000000000000' is not one of the sites this account can reach (Acme Engineering, Acme Support)",
    );
    expect(refused).toContain('Code: invalid_request');
    await chromium.screenshot(page, 'atlassian-site-chooser-forged');

    // The callback loaded again shows the chooser again while the choice is open; then the real second site.
    await page.goto(chooserUrl);
    expect(await page.locator('h1').textContent()).toBe('Choose a site');
    await page.check(`input[value="${secondSite}"]`);
    await page.click('button[type="submit"]');
    expect(await page.locator('h1').textContent()).toBe('Connected');
    expect(await page.locator('body').textContent()).toContain(
      'Connected Jira Cloud (jira) for ada to the site Acme Support.',
    );
    await chromium.screenshot(page, 'atlassian-site-chooser-connected');
    await context.close();

    const client = new Client({ name: 'site-chooser', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/acme/all`), {
        requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
      }),
    );
    const result = (await client.callTool({ name: 'jira_get_me', arguments: {} })) as {
      isError?: boolean;
      content: { text?: string }[];
    };
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const hit = api.received.filter((r) => r.path.startsWith('/ex/jira/')).at(-1);
    expect(hit?.path).toBe(`/ex/jira/${secondSite}/rest/api/3/myself`);
    expect(hit?.headers.authorization).toMatch(/^Bearer atl-access-\d+-0123456789$/);
    await client.close();
  });

  it('chooser_shows_subject_id: the chooser names a signed-in user and the service as the page after consent does', async () => {
    tokenAnswer = 'tokens';
    // A person of the tenant (the subject a signed-in user's calls use is their internal usr_... id).
    const { user, inviteUrl } = await gateway.gateway.users!.createUser('acme', { name: 'ada.lovelace' }, 'operator');
    expect(user.id).toMatch(/^usr_/);
    const password = 'ada-lovelace-password-0123';
    await gateway.gateway.users!.acceptInvite(inviteUrl.split('/invite/')[1] as string, password);
    const context = await chromium.newContext();
    const page = await context.newPage();
    // A user's link opens only for that user, signed in (connect_link_forwarded_connects_other_account).
    await page.goto(await connectLink('jira', user.id));
    await page.getByLabel('Name').fill('ada.lovelace');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: /^Continue to / }).click();
    await page.click('#accept');
    await page.waitForURL(/\/oauth\/callback\?/);
    expect(await page.locator('h1').textContent()).toBe('Choose a site');
    const intro = ((await page.locator('p').first().textContent()) ?? '').replace(/\s+/g, ' ');
    expect(intro).toBe(
      'Your account can reach 2 sites. Choose the one Jira Cloud (jira) should use for user ada.lovelace; every call goes to that site until you connect again.',
    );
    expect(await page.locator('body').textContent()).not.toContain(user.id);
    await chromium.screenshot(page, 'atlassian-site-chooser-signed-in-user');
    await page.check(`input[value="${firstSite}"]`);
    await page.click('button[type="submit"]');
    expect(await page.locator('body').textContent()).toContain(
      'Connected Jira Cloud (jira) for user ada.lovelace to the site Acme Engineering.',
    );
    await context.close();
  });

  it("a refused token exchange shows the provider's error and description, and Try again starts a fresh connect", async () => {
    tokenAnswer = 'refuse';
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(await connectLink());
    await page.click('#accept');
    await page.waitForURL(/\/oauth\/callback\?/);
    const body = (await page.locator('body').textContent()) ?? '';
    expect(await page.locator('h1').textContent()).toBe('The connection could not be completed');
    expect(body).toContain("Provider's errorinvalid_grant");
    expect(body).toContain('Causeerror_response, HTTP 403');
    expect(body).toContain('Likely causeThe provider refused the code: it expired or was used already (Try again)');
    const code = new URL(page.url()).searchParams.get('code') ?? 'none';
    // The description as the provider wrote it, the echoed code scrubbed, its markup shown as text.
    expect(body).toContain("Provider's descriptionUnknown or invalid authorization code [REDACTED] <script>x</script>");
    expect(body).not.toContain(code);
    expect(await page.locator('script').count()).toBe(0);
    await chromium.screenshot(page, 'connect-token-exchange-failed');

    // A reload says it did not complete (not "already completed"), and still offers a fresh start.
    await page.reload();
    const reloaded = (await page.locator('body').textContent()) ?? '';
    expect(reloaded).toContain('This authorization did not complete (oauth_token_failed: invalid_grant)');
    expect(reloaded).not.toContain('already completed');

    tokenAnswer = 'tokens';
    await page.click('text=Try again');
    expect(await page.title()).toBe('Atlassian consent');
    await page.click('#accept');
    await page.waitForURL(/\/oauth\/callback\?/);
    expect(await page.locator('h1').textContent()).toBe('Choose a site');
    await page.check(`input[value="${firstSite}"]`);
    await page.click('button[type="submit"]');
    expect(await page.locator('body').textContent()).toContain('to the site Acme Engineering.');
    await context.close();
  });

  it('Xero: an account with two organisations chooses one on the same chooser, and calls carry its xero-tenant-id', async () => {
    tokenAnswer = 'tokens';
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(await connectLink('xero'));
    await page.click('#accept');
    await page.waitForURL(/\/oauth\/callback\?/);
    expect(await page.locator('h1').textContent()).toBe('Choose an organisation');
    const labels = await page.locator('label.site').allTextContents();
    expect(labels.map((l) => l.replace(/\s+/g, ' ').trim())).toEqual(['Acme Ltd', 'Acme Holdings']);
    expect(await page.locator('legend').textContent()).toBe('Organisations');
    expect(await page.locator('button[type="submit"]').textContent()).toBe('Use this organisation');
    await chromium.screenshot(page, 'xero-organisation-chooser');
    await page.check(`input[value="${secondOrganisation}"]`);
    await page.click('button[type="submit"]');
    expect(await page.locator('h1').textContent()).toBe('Connected');
    expect(await page.locator('body').textContent()).toContain(
      'Connected Xero Accounting (xero) for ada to the organisation Acme Holdings.',
    );
    await context.close();

    const client = new Client({ name: 'organisation-chooser', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/acme/all`), {
        requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
      }),
    );
    const result = (await client.callTool({ name: 'xero_get_organisation', arguments: {} })) as {
      isError?: boolean;
      content: { text?: string }[];
    };
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const hit = api.received.filter((r) => r.path.startsWith('/xero/')).at(-1);
    expect(hit?.path).toBe('/xero/Organisation');
    expect(hit?.headers['xero-tenant-id']).toBe(secondOrganisation);
    await client.close();
  });
});
