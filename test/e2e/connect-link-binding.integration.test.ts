import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLinkOf, isConnectLinkUnused } from '../support/connect-links.ts';
import { addSignedUpUser } from '../support/console-sign-in.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { mailService, startMailAuthorizationServer } from '../support/mail-oauth-service.ts';
import type { RunningOidcProvider } from '../support/start-oidc-provider.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Who may open a connect link (finding connect_link_forwarded_connects_other_account): a link binds (tenant,
 * service, subject), and whoever opens it consents with *their* account at the provider. So a link whose subject is
 * a gateway user opens only in that user's signed-in browser, and a link for a subject no user stands behind (a
 * client key's) only for a signed-in owner/admin of the tenant (or the operator), after a confirmation naming the
 * subject. Real gateway, oidc-provider as the upstream authorization server, Debian's Chromium clicking through.
 * Screenshots: test-results/connect-link-binding-*.png.
 */
const password = 'connect-link-binding-password-1';
const missing = chromiumMissing();

let as: RunningOidcProvider;
let gateway: TestGateway;
let chromium: RunningChromium;
const ids: Record<'alice' | 'mallory' | 'olga', string> = { alice: '', mallory: '', olga: '' };

beforeAll(async () => {
  if (missing !== undefined) return;
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  as = await startMailAuthorizationServer(publicUrl);
  gateway = await startTestGateway(
    {
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [mailService(as)],
          toolsets: [{ id: 'mail', tools: ['mail_*'] }],
        },
      ],
    },
    { port },
  );
  const users = gateway.gateway.users!;
  ids.alice = await addSignedUpUser(users, 'acme', 'alice', password, 'member');
  ids.mallory = await addSignedUpUser(users, 'acme', 'mallory', password, 'member');
  ids.olga = await addSignedUpUser(users, 'acme', 'olga', password, 'admin');
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await gateway?.close();
  await as?.close();
});

const linkFor = (subject: string) => connectLinkOf(gateway, 'acme', 'mail', subject);
const unused = (linkId: string) => isConnectLinkUnused(gateway, 'acme', linkId);

/** A browser of its own, signed in to the tenant as `name` on the sign-in page. */
async function signedInAs(name: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.newContext();
  const page = await context.newPage();
  await page.goto(`${gateway.url}/signin/acme`);
  await signIn(page, name);
  return { context, page };
}

async function signIn(page: Page, name: string): Promise<void> {
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/signin/')),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

/** At oidc-provider's development pages: sign in as `login`, consent, and land on the gateway's callback page. */
async function consentAtProvider(page: Page, login: string): Promise<string> {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('x');
  await Promise.all([page.waitForURL(/\/interaction\//), page.locator('button[type="submit"]').click()]);
  await page.locator('button[type="submit"]').waitFor();
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/oauth/callback'),
    page.locator('button[type="submit"]').click(),
  ]);
  return (await page.locator('body').textContent()) ?? '';
}

async function connectionOf(subject: string) {
  return (await gateway.adapters.store.connections.list('acme')).find(
    (c) => c.service === 'mail' && c.subject === subject,
  );
}

describe.skipIf(missing !== undefined)('who may open a connect link (Chromium, oidc-provider)', () => {
  it("connect_link_forwarded_connects_other_account: a link for a user opens only in that user's signed-in browser; another user is refused and the link stays usable", async () => {
    const link = await linkFor(ids.alice);
    const authorizeHits = as.hits.get('/auth') ?? 0;

    // Alice's link forwarded to Mallory (or Mallory's own link sent to a victim): Mallory's signed-in browser opens it.
    const mallory = await signedInAs('mallory');
    const refused = await mallory.page.goto(link.url);
    await chromium.screenshot(mallory.page, 'connect-link-binding-1-other-user-refused');
    expect(refused?.status()).toBe(403);
    expect(new URL(mallory.page.url()).origin).toBe(gateway.url);
    const text = (await mallory.page.locator('body').textContent()) ?? '';
    expect(text).toContain('user alice');
    expect(text).toContain('mallory');
    expect(as.hits.get('/auth') ?? 0).toBe(authorizeHits); // never sent to the provider
    expect(await unused(link.id)).toBe(true);
    await mallory.context.close();

    // Alice opens it, not signed in yet: the sign-in page, then back to the link, then the provider.
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(link.url);
    expect(new URL(page.url()).pathname).toBe('/signin/acme');
    // The page says why a connect link brought the person here, and who may open one.
    expect(await page.locator('body').textContent()).toContain(
      'The connect link you opened needs you signed in to acme',
    );
    await chromium.screenshot(page, 'connect-link-binding-2-sign-in');
    expect(await unused(link.id)).toBe(true);
    await page.getByLabel('Name').fill('alice');
    await page.getByLabel('Password').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.pathname.startsWith('/connect/')),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    await chromium.screenshot(page, 'connect-link-binding-3-signed-in');
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(as.issuer)),
      // The link names the service the person is sent on to.
      page.getByRole('link', { name: 'Continue to Fake API (mail)' }).click(),
    ]);
    const done = await consentAtProvider(page, 'alice@mail.example');
    await chromium.screenshot(page, 'connect-link-binding-3b-connected');
    expect(done).toContain('Connected');
    expect(await connectionOf(ids.alice)).toMatchObject({ status: 'active' });
    expect(await unused(link.id)).toBe(false);
    await context.close();
  });

  it("a link for a subject no user stands behind (a client key's) needs an owner or admin of the tenant, who confirms the subject", async () => {
    const link = await linkFor('kate-agent');

    // Not signed in: the sign-in page (which also offers the operator's sign-in); a member is refused.
    const stranger = await chromium.newContext();
    const strangerPage = await stranger.newPage();
    await strangerPage.goto(link.url);
    expect(new URL(strangerPage.url()).pathname).toBe('/signin/acme');
    await stranger.close();
    const mallory = await signedInAs('mallory');
    const refused = await mallory.page.goto(link.url);
    await chromium.screenshot(mallory.page, 'connect-link-binding-4-member-refused');
    expect(refused?.status()).toBe(403);
    expect((await mallory.page.locator('body').textContent()) ?? '').toContain('kate-agent');
    expect(await unused(link.id)).toBe(true);
    await mallory.context.close();
    const denials = await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'security' });
    expect(
      denials
        .filter((r) => r.event === 'connect' && r.decision === 'deny' && r.target === 'service:mail/subject:kate-agent')
        .map((r) => [r.subject, r.detail]),
    ).toEqual([[ids.mallory, 'link_needs_admin']]);

    // An admin is asked to confirm whose connection this becomes; nothing is used before the confirmation.
    const olga = await signedInAs('olga');
    await olga.page.goto(link.url);
    await chromium.screenshot(olga.page, 'connect-link-binding-5-confirm');
    const confirm = (await olga.page.locator('body').textContent()) ?? '';
    expect(confirm).toContain('kate-agent');
    expect(await unused(link.id)).toBe(true);
    // A confirmation without the session's CSRF token (another page posting in this browser) is refused.
    const forged = await olga.context.request.post(`${gateway.url}${new URL(link.url).pathname}`, {
      form: { sig: new URL(link.url).searchParams.get('sig') ?? '', csrf: 'not-the-session-token-0123456789' },
      headers: { origin: gateway.url },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(await unused(link.id)).toBe(true);
    await Promise.all([
      olga.page.waitForURL((url) => url.href.startsWith(as.issuer)),
      olga.page.getByRole('button', { name: /Continue/ }).click(),
    ]);
    expect(await consentAtProvider(olga.page, 'team@mail.example')).toContain('Connected');
    expect(await connectionOf('kate-agent')).toMatchObject({ status: 'active' });
    await olga.context.close();
  });

  it("the console's own connect button opens straight at the provider for the signed-in user", async () => {
    const { context, page } = await signedInAs('mallory');
    await page.goto(`${gateway.url}/console/acme/connections`);
    await page.getByLabel('Service').selectOption('mail');
    await page.getByRole('button', { name: 'Create connect link' }).click();
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(as.issuer)),
      page.locator('#connect-link').click(),
    ]);
    expect(await consentAtProvider(page, 'mallory@mail.example')).toContain('Connected');
    expect(await connectionOf(ids.mallory)).toMatchObject({ status: 'active' });
    // The connections table names the person, with their id beside it (not the id alone).
    await page.goto(`${gateway.url}/console/acme/connections`);
    const user = page.locator('main tbody tr', { hasText: 'mail' }).locator('td').nth(1);
    expect(await user.textContent()).toMatch(new RegExp(`^mallory\\s*${ids.mallory}$`, 'i'));
    await chromium.screenshot(page, 'connect-link-binding-6-connections');
    await context.close();
  });
});
