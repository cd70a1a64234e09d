import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/store/index.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type RunningOidcProvider, startOidcProvider } from '../support/start-oidc-provider.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Single sign-on with the tenant's identity provider (issue 16): `oidc-provider` on 127.0.0.1 is the IdP, Gatehouse
 * the relying party through oauth4webapi, a person clicks through in Chromium. Then the callback is tampered with
 * in the browser's traffic: another `state`, another `iss`, another `nonce` (rewritten in the authorization
 * request, so the IdP's ID token carries it), and the callback taken to a browser that did not start the sign-in.
 * Each is refused without a session and writes one security record.
 */
const missing = chromiumMissing();
const clientSecret = 'sso-client-secret-0123456789abcdef';

let idp: RunningOidcProvider;
let gateway: TestGateway;
let chromium: RunningChromium;

async function securityRecords(): Promise<readonly AuditRecord[]> {
  return gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'security', limit: 10_000 });
}

interface SsoRun {
  readonly page: Page;
  readonly callbackStatus: number;
  readonly callbackUrl: string;
}

/**
 * A person signs in through the IdP in `context`: the sign-in page's SSO button, the IdP's login (as `login`) and
 * consent pages. `rewriteAuthorize` may change the authorization request; `rewriteCallback` the callback URL.
 */
async function ssoInChromium(
  context: BrowserContext,
  login: string,
  options: { rewriteAuthorize?: (url: URL) => void; rewriteCallback?: (url: URL) => void; shots?: string } = {},
): Promise<SsoRun> {
  const page = await context.newPage();
  if (options.rewriteAuthorize) {
    // Playwright routes only the first request of a redirect chain: the button's post is followed here, up to its
    // redirect to the IdP, whose URL is changed before the browser takes it.
    await page.route(/\/signin\/acme\/sso$/, async (route) => {
      const answer = await route.fetch({ maxRedirects: 0 });
      const location = new URL(answer.headers()['location'] ?? '');
      options.rewriteAuthorize?.(location);
      await route.fulfill({ status: 303, headers: { ...answer.headers(), location: location.href } });
    });
  }
  await page.goto(`${gateway.url}/signin/acme?return=%2Faccount%2Facme`);
  if (options.shots) await chromium.screenshot(page, `${options.shots}-1-signin`);
  await Promise.all([
    page.waitForURL(/\/interaction\//),
    page.getByRole('button', { name: 'Sign in with Test IdP' }).click(),
  ]);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('x');
  if (options.shots) await chromium.screenshot(page, `${options.shots}-2-idp-login`);
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').waitFor();
  let callbackUrl = '';
  await page.route(/\/interaction\/[^/?]+$/, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const confirmed = await route.fetch({ maxRedirects: 0 });
    const resume = new URL(confirmed.headers()['location'] ?? '', route.request().url()).href;
    const resumed = await context.request.get(resume, { maxRedirects: 0 });
    const callback = new URL(resumed.headers()['location'] ?? '', resume);
    options.rewriteCallback?.(callback);
    callbackUrl = callback.href;
    await route.fulfill({ status: 303, headers: { location: callback.href } });
  });
  const [callback] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/signin/acme/sso/callback'),
    page.locator('button[type="submit"]').click(),
  ]);
  await page.waitForLoadState();
  if (options.shots) await chromium.screenshot(page, `${options.shots}-3-done`);
  return { page, callbackStatus: callback.status(), callbackUrl };
}

async function sessionOf(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies(gateway.url)).find((c) => c.name === 'gatehouse_session')?.value;
}

describe.skipIf(missing !== undefined)(
  'single sign-on through the tenant identity provider (oidc-provider, Chromium)',
  () => {
    beforeAll(async () => {
      const port = await freePort();
      const publicUrl = `http://127.0.0.1:${port}`;
      idp = await startOidcProvider({
        redirectUris: [`${publicUrl}/signin/acme/sso/callback`],
        clientId: 'gatehouse-sso',
        clientSecret,
        resource: 'urn:gatehouse:test-idp',
        resourceScopes: [],
      });
      gateway = await startTestGateway({
        listen: `127.0.0.1:${port}`,
        publicUrl,
        tenants: [
          {
            id: 'acme',
            users: { sso: { issuer: idp.issuer, clientId: 'gatehouse-sso', clientSecret, label: 'Test IdP' } },
          },
        ],
      });
      chromium = await launchChromium();
    });

    afterAll(async () => {
      await chromium?.close();
      await gateway?.close();
      await idp?.close();
    });

    it('a person signs in with the IdP and lands on the account page as the IdP user (created at first sign-in)', async () => {
      const context = await chromium.newContext();
      const run = await ssoInChromium(context, 'sso-alice', { shots: 'users-sso' });
      expect(new URL(run.page.url()).pathname).toBe('/account/acme');
      expect(await run.page.locator('body').textContent()).toContain('sso-alice');
      const session = await sessionOf(context);
      const user = await gateway.gateway.users!.signedInUser('acme', `gatehouse_session=${session}`);
      expect(user).toMatchObject({ tenant: 'acme', name: 'sso-alice' });
      const stored = await gateway.adapters.store.users.findByName('acme', 'sso-alice');
      expect(stored?.ssoSubject).toBe(`${idp.issuer} sso-alice`);
      expect(stored?.passwordHash).toBeNull();
      // The pending sign-in's cookie is gone; a second sign-in is the same user with a new session.
      expect((await context.cookies(gateway.url)).find((c) => c.name === 'gatehouse_sso')).toBeUndefined();
      // The IdP remembers the person: the button alone signs in again, with a new session.
      const again = await context.newPage();
      await again.goto(`${gateway.url}/signin/acme`);
      await Promise.all([
        again.waitForURL(/\/account\/acme$/),
        again.getByRole('button', { name: 'Sign in with Test IdP' }).click(),
      ]);
      expect(await sessionOf(context)).not.toBe(session);
      expect((await gateway.adapters.store.users.findByName('acme', 'sso-alice'))?.id).toBe(stored?.id);
      await context.close();
    });

    it.each([
      [
        'state',
        'oauth_state_invalid',
        'state_mismatch',
        (url: URL) => url.searchParams.set('state', 'forged-state-0123456789'),
      ],
      ['iss', 'oauth_issuer_mismatch', 'mismatch', (url: URL) => url.searchParams.set('iss', `${idp.issuer}/`)],
    ])(
      'a callback with another %s is refused, no session, one security record',
      async (_what, code, detail, rewrite) => {
        const before = (await securityRecords()).length;
        const context = await chromium.newContext();
        const run = await ssoInChromium(context, 'sso-mallory', { rewriteCallback: rewrite });
        expect(run.callbackStatus).toBeGreaterThanOrEqual(400);
        expect(await sessionOf(context)).toBeUndefined();
        expect(await run.page.locator('body').textContent()).toContain(code);
        await expect
          .poll(async () => (await securityRecords()).slice(before).map((r) => [r.event, r.decision, r.code, r.detail]))
          .toEqual([['user_sign_in', 'deny', code, detail]]);
        await context.close();
      },
    );

    it('an ID token whose nonce is not the one of this sign-in is refused (nonce rewritten in the authorization request)', async () => {
      const before = (await securityRecords()).length;
      const context = await chromium.newContext();
      const run = await ssoInChromium(context, 'sso-nonce', {
        rewriteAuthorize: (url) => url.searchParams.set('nonce', 'nonce-of-another-sign-in-0123456789'),
      });
      expect(run.callbackStatus).toBeGreaterThanOrEqual(400);
      expect(await sessionOf(context)).toBeUndefined();
      expect(await gateway.adapters.store.users.findByName('acme', 'sso-nonce')).toBeUndefined();
      await expect
        .poll(async () => (await securityRecords()).slice(before).map((r) => [r.event, r.code, r.detail]))
        .toEqual([['user_sign_in', 'oauth_state_invalid', 'id_token_nonce']]);
      await context.close();
    });

    it('IA-06 state is bound to the browser: the callback opened in another browser is refused', async () => {
      let stolen = '';
      const victim = await chromium.newContext();
      const run = await ssoInChromium(victim, 'sso-victim', {
        rewriteCallback: (url) => {
          stolen = url.href;
          // The victim's own browser never reaches the callback.
          url.searchParams.set('code', 'not-a-code');
        },
      });
      expect(run.callbackStatus).toBeGreaterThanOrEqual(400);
      const attacker = await chromium.newContext();
      const page = await attacker.newPage();
      const answer = await page.goto(stolen);
      expect(answer?.status()).toBeGreaterThanOrEqual(400);
      expect(await sessionOf(attacker)).toBeUndefined();
      await chromium.screenshot(page, 'users-sso-stolen-callback');
      await victim.close();
      await attacker.close();
    });
  },
);
