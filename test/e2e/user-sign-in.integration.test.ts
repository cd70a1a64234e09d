import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/store/index.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * End users' local accounts in a real browser (issue 16; IA-06, IA-07, CP-02): an invite link sets a password, the
 * sign-in page signs in with a new session, the account page lists and revokes the user's own connections, sign-out
 * ends the session. And the attacks: session fixation, open redirect through `return`, forms posted without their
 * CSRF token or from another site, user enumeration by answer or time, guessing past the attempt budget, and a
 * session of one tenant at another tenant's pages. Real scrypt parameters (N=2^15) throughout.
 */
const adminToken = 'user-sign-in-admin-token-0123456789';
const missing = chromiumMissing();

let gateway: TestGateway;
let chromium: RunningChromium;
let evil: Server;
let evilUrl: string;
let evilPage = '';

/** The admin answers these tests read. */
interface AdminBody {
  readonly inviteUrl: string;
  readonly users: readonly { readonly id: string; readonly name: string }[];
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: AdminBody }> {
  const response = await fetch(`${gateway.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as AdminBody };
}

async function createUser(tenant: string, name: string, password: string): Promise<string> {
  const created = await gateway.gateway.users!.createUser(tenant, { name }, 'operator');
  const token = created.inviteUrl.split('/invite/')[1] as string;
  await gateway.gateway.users!.acceptInvite(token, password);
  return created.user.id;
}

async function securityRecords(tenant: string): Promise<readonly AuditRecord[]> {
  return gateway.adapters.store.audit.query({ tenantId: tenant, kind: 'security', limit: 10_000 });
}

/** The sign-in form's CSRF cookie and token, as a non-browser client gets them. */
async function signInForm(tenant: string): Promise<{ cookie: string; csrf: string; body: string }> {
  const page = await fetch(`${gateway.url}/signin/${tenant}`);
  const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const body = await page.text();
  return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(body)?.[1] ?? '', body };
}

/** Posts the sign-in form as a script would: status, body, session cookie set (if any), time taken. */
async function postSignIn(
  tenant: string,
  name: string,
  password: string,
  extra: { cookie?: string; csrf?: string; return?: string } = {},
): Promise<{
  status: number;
  text: string;
  session?: string;
  location: string | null;
  retryAfter: string | null;
  ms: number;
}> {
  const form = extra.csrf === undefined ? await signInForm(tenant) : { cookie: extra.cookie ?? '', csrf: extra.csrf };
  const started = performance.now();
  const response = await fetch(`${gateway.url}/signin/${tenant}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: extra.cookie ?? form.cookie },
    body: new URLSearchParams({ name, password, csrf: form.csrf, return: extra.return ?? '' }).toString(),
  });
  const text = await response.text();
  const ms = performance.now() - started;
  const session = /gatehouse_session=([^;]+)/.exec(response.headers.getSetCookie().join('\n'))?.[1];
  return {
    status: response.status,
    // Every form of the page carries its own random CSRF token (the user form and the operator form).
    text: text.replace(/name="csrf" value="[^"]+"/g, ''),
    ...(session ? { session } : {}),
    location: response.headers.get('location'),
    retryAfter: response.headers.get('retry-after'),
    ms,
  };
}

async function signInInBrowser(context: BrowserContext, tenant: string, name: string, password: string, path = '') {
  const page = await context.newPage();
  await page.goto(`${gateway.url}/signin/${tenant}${path}`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/signin')),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  return page;
}

async function sessionCookieOf(context: BrowserContext) {
  return (await context.cookies(gateway.url)).find((c) => c.name === 'gatehouse_session');
}

describe.skipIf(missing !== undefined)('end users sign in with local accounts (Chromium)', () => {
  beforeAll(async () => {
    const port = await freePort();
    gateway = await startTestGateway({
      listen: `127.0.0.1:${port}`,
      publicUrl: `http://127.0.0.1:${port}`,
      adminToken,
      tenants: [
        // acme's budgets are raised so the suite can sign in often; `budget` keeps the defaults.
        { id: 'acme', users: { signInAttempts: { perAccountPerMinute: 1_000, perAddressPerMinute: 1_000 } } },
        { id: 'globex' },
        { id: 'budget' },
      ],
    });
    evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(evilPage);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    // `localhost` is another site than `127.0.0.1` for the browser.
    evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}`;
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await new Promise((resolve) => evil?.close(resolve));
    await gateway?.close();
  });

  it('a person opens an invite link, sets a password, and lands on their account page signed in', async () => {
    const created = await admin('POST', '/tenants/acme/users', { name: 'alice', displayName: 'Alice Example' });
    expect(created.status).toBe(201);
    expect(created.body.inviteUrl).toMatch(/\/invite\/[A-Za-z0-9_-]{43}$/);
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(created.body.inviteUrl);
    await chromium.screenshot(page, 'users-invite');
    await page.getByLabel('New password').fill('alice-password-1');
    await page.getByLabel('Repeat it').fill('alice-password-1');
    await Promise.all([
      page.waitForURL(/\/account\/acme$/),
      page.getByRole('button', { name: 'Set password and sign in' }).click(),
    ]);
    expect(await page.locator('body').textContent()).toContain('Alice Example');
    await chromium.screenshot(page, 'users-account-after-invite');
    // The link is single use.
    expect((await page.goto(created.body.inviteUrl))?.status()).toBe(404);
    await context.close();
  });

  it('the sign-in page signs in; the session cookie is HttpOnly, SameSite=Lax, Path=/, not Secure on http', async () => {
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(`${gateway.url}/signin/acme`);
    await chromium.screenshot(page, 'users-signin');
    await page.getByLabel('Name').fill('alice');
    await page.getByLabel('Password').fill('alice-password-1');
    await Promise.all([page.waitForURL(/\/account\/acme$/), page.getByRole('button', { name: 'Sign in' }).click()]);
    await chromium.screenshot(page, 'users-account');
    const cookie = await sessionCookieOf(context);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false });
    expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Sign out by clicking: the session ends on the server, not only in this browser.
    await Promise.all([page.waitForURL(/\/signin\/acme$/), page.getByRole('button', { name: 'Sign out' }).click()]);
    expect(await gateway.gateway.users!.signedInUser('acme', `gatehouse_session=${cookie?.value}`)).toBeUndefined();
    await context.close();
  });

  it('a wrong password shows the form again with the same answer as an unknown name', async () => {
    const context = await chromium.newContext();
    const page = await context.newPage();
    await page.goto(`${gateway.url}/signin/acme`);
    await page.getByLabel('Name').fill('alice');
    await page.getByLabel('Password').fill('not-alice-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong name or password');
    await chromium.screenshot(page, 'users-signin-wrong');
    await context.close();
  });

  it('session fixation: a session id planted in the browser before sign-in is not the one after it, and it ends', async () => {
    const planted = await postSignIn('acme', 'alice', 'alice-password-1');
    expect(planted.session).toBeDefined();
    const context = await chromium.newContext();
    await context.addCookies([{ name: 'gatehouse_session', value: planted.session as string, url: gateway.url }]);
    await signInInBrowser(context, 'acme', 'alice', 'alice-password-1');
    const after = await sessionCookieOf(context);
    expect(after?.value).not.toBe(planted.session);
    expect(await gateway.gateway.users!.signedInUser('acme', `gatehouse_session=${planted.session}`)).toBeUndefined();
    expect(await gateway.gateway.users!.signedInUser('acme', `gatehouse_session=${after?.value}`)).toMatchObject({
      name: 'alice',
    });
    await context.close();
  });

  it('OA-10/IA-06 no open redirect: a `return` that is not a relative path lands on the account page, and is audited', async () => {
    for (const target of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/%2F%2Fevil.example']) {
      const context = await chromium.newContext();
      const page = await signInInBrowser(
        context,
        'acme',
        'alice',
        'alice-password-1',
        `?return=${encodeURIComponent(target)}`,
      );
      expect(new URL(page.url()).origin).toBe(gateway.url);
      expect(new URL(page.url()).pathname).toBe('/account/acme');
      await context.close();
    }
    // A relative path is followed.
    const ok = await postSignIn('acme', 'alice', 'alice-password-1', { return: '/account/acme?tab=1' });
    expect(ok.location).toBe('/account/acme?tab=1');
    const posted = await postSignIn('acme', 'alice', 'alice-password-1', { return: '//evil.example' });
    expect(posted.location).toBe('/account/acme');
    await expect
      .poll(
        async () =>
          (await securityRecords('acme')).filter(
            (r) => r.event === 'user_request_rejected' && r.detail === 'return_path',
          ).length,
      )
      .toBeGreaterThanOrEqual(4);
  });

  it('CP-02 CSRF: a sign-in post without the form token is refused and audited; from another site, refused in Chromium', async () => {
    const before = (await securityRecords('acme')).filter((r) => r.detail === 'csrf').length;
    const forged = await postSignIn('acme', 'alice', 'alice-password-1', { cookie: '', csrf: '' });
    expect(forged.status).toBe(403);
    expect(forged.session).toBeUndefined();
    const mismatched = await postSignIn('acme', 'alice', 'alice-password-1', {
      cookie: 'gatehouse_form_csrf=aaaaaaaaaaaaaaaaaaaaaaaa',
      csrf: 'bbbbbbbbbbbbbbbbbbbbbbbb',
    });
    expect(mismatched.status).toBe(403);
    await expect
      .poll(async () => (await securityRecords('acme')).filter((r) => r.detail === 'csrf').length)
      .toBe(before + 2);

    // Login CSRF from another site: its page posts the form in the person's browser.
    evilPage = `<form id="f" method="post" action="${gateway.url}/signin/acme"><input name="name" value="alice"><input name="password" value="alice-password-1"></form><script>document.getElementById('f').submit()</script>`;
    const context = await chromium.newContext();
    const page = await context.newPage();
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.goto(`${evilUrl}/login-csrf`),
    ]);
    expect(answer.status()).toBe(403);
    expect(await sessionCookieOf(context)).toBeUndefined();
    await context.close();
  });

  it('CP-02 CSRF: sign-out and revoke posted without the session-bound token, or from another site, change nothing', async () => {
    const aliceId = (await gateway.adapters.store.users.findByName('acme', 'alice'))!.id;
    await gateway.adapters.store.connections.upsert({
      tenantId: 'acme',
      id: 'conn-alice',
      service: 'crm',
      subject: aliceId,
      status: 'active',
      scopes: ['read'],
      accessToken: null,
      refreshToken: null,
      accessExpiresAt: null,
      createdAt: Date.now(),
    });
    const context = await chromium.newContext();
    const page = await signInInBrowser(context, 'acme', 'alice', 'alice-password-1');
    const session = (await sessionCookieOf(context))?.value as string;
    const cookie = `gatehouse_session=${session}`;
    for (const [path, body] of [
      ['/signout', { tenant: 'acme' }],
      ['/account/acme/connections/conn-alice/revoke', {}],
    ] as const) {
      for (const csrf of ['', 'x'.repeat(43)]) {
        const response = await fetch(`${gateway.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
          body: new URLSearchParams({ ...body, csrf }).toString(),
        });
        expect(response.status).toBe(403);
      }
    }
    evilPage = `<form id="f" method="post" action="${gateway.url}/account/acme/connections/conn-alice/revoke"></form><script>document.getElementById('f').submit()</script>`;
    const evilTab = await context.newPage();
    const [answer] = await Promise.all([
      evilTab.waitForResponse((r) => r.request().method() === 'POST'),
      evilTab.goto(`${evilUrl}/revoke-csrf`),
    ]);
    expect(answer.status()).toBe(403);
    expect(await gateway.gateway.users!.signedInUser('acme', cookie)).toMatchObject({ name: 'alice' });
    expect(await gateway.adapters.store.connections.get('acme', 'conn-alice')).toBeDefined();

    // The person revokes by clicking.
    await page.reload();
    expect(await page.locator('body').textContent()).toContain('crm');
    await chromium.screenshot(page, 'users-account-connection');
    await Promise.all([page.waitForURL(/\/account\/acme$/), page.getByRole('button', { name: 'Revoke crm' }).click()]);
    expect(await gateway.adapters.store.connections.get('acme', 'conn-alice')).toBeUndefined();
    expect(await page.locator('body').textContent()).toContain('You have not connected any account yet');
    await context.close();
  });

  it("IA-08 a user cannot revoke another user's connection: not found, audited, the connection stays", async () => {
    const bobId = await createUser('acme', 'bob', 'bob-password-123');
    await gateway.adapters.store.connections.upsert({
      tenantId: 'acme',
      id: 'conn-bob',
      service: 'crm',
      subject: bobId,
      status: 'active',
      scopes: ['read'],
      accessToken: null,
      refreshToken: null,
      accessExpiresAt: null,
      createdAt: Date.now(),
    });
    const signedIn = await postSignIn('acme', 'alice', 'alice-password-1');
    const cookie = `gatehouse_session=${signedIn.session}`;
    const active = await gateway.gateway.users!.activeSession('acme', cookie);
    const response = await fetch(`${gateway.url}/account/acme/connections/conn-bob/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ csrf: active?.csrfToken ?? '' }).toString(),
    });
    expect(response.status).toBe(404);
    expect(await gateway.adapters.store.connections.get('acme', 'conn-bob')).toBeDefined();
    const page = await (await fetch(`${gateway.url}/account/acme`, { headers: { cookie } })).text();
    expect(page).not.toContain('conn-bob');
    await expect
      .poll(async () =>
        (await securityRecords('acme')).some((r) => r.detail === 'not_own_connection' && r.subject === active?.user.id),
      )
      .toBe(true);
  });

  it("MT-02 a session of tenant acme is nothing at tenant globex's pages", async () => {
    await createUser('globex', 'alice', 'globex-alice-pass');
    const signedIn = await postSignIn('acme', 'alice', 'alice-password-1');
    const cookie = `gatehouse_session=${signedIn.session}`;
    const account = await fetch(`${gateway.url}/account/globex`, { headers: { cookie }, redirect: 'manual' });
    expect(account.status).toBe(303);
    expect(account.headers.get('location')).toBe('/signin/globex?return=%2Faccount%2Fglobex');
    expect(await gateway.gateway.users!.signedInUser('globex', cookie)).toBeUndefined();
    // acme's password is not globex's alice's either.
    expect((await postSignIn('globex', 'alice', 'alice-password-1')).status).toBe(401);
  });

  it('IA-07 unknown name and wrong password: the same status and page, and about the same time (real scrypt)', async () => {
    await createUser('acme', 'timing', 'timing-password-1');
    const unknown: number[] = [];
    const wrong: number[] = [];
    let unknownText = '';
    let wrongText = '';
    for (let i = 0; i < 4; i++) {
      const a = await postSignIn('acme', `nobody-${i}`, 'timing-password-x');
      const b = await postSignIn('acme', i % 2 === 0 ? 'timing' : 'alice', 'timing-password-x');
      expect([a.status, b.status]).toEqual([401, 401]);
      unknown.push(a.ms);
      wrong.push(b.ms);
      unknownText = a.text;
      wrongText = b.text;
    }
    expect(unknownText).toBe(wrongText);
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((x, y) => x - y);
      return ((sorted[1] as number) + (sorted[2] as number)) / 2;
    };
    const ratio = median(unknown) / median(wrong);
    console.info(`sign-in time, unknown name / wrong password (median of 4): ${ratio.toFixed(2)}`);
    expect(ratio).toBeGreaterThan(0.6);
    expect(ratio).toBeLessThan(1.6);
  });

  it('IA-07 the attempt budget: the sixth try on one name in a minute is 429 with Retry-After, even with the right password', async () => {
    await createUser('budget', 'carol', 'carol-password-1');
    for (let i = 0; i < 5; i++) expect((await postSignIn('budget', 'carol', 'wrong-password-x')).status).toBe(401);
    const refused = await postSignIn('budget', 'carol', 'carol-password-1');
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused.session).toBeUndefined();
    // The same for a name that does not exist (the budget tells nothing about who exists).
    for (let i = 0; i < 5; i++) expect((await postSignIn('budget', 'nobody', 'wrong-password-x')).status).toBe(401);
    expect((await postSignIn('budget', 'nobody', 'wrong-password-x')).status).toBe(429);
    // Another name from this address has its own budget, until the address's (20 a minute) is spent.
    expect((await postSignIn('budget', 'dave', 'x')).status).toBe(401);
    let tries = 0;
    while (tries < 40 && (await postSignIn('budget', `n${tries}`, 'x')).status === 401) tries++;
    expect(tries).toBeLessThan(40);
    await expect
      .poll(async () =>
        (await securityRecords('budget'))
          .filter((r) => r.event === 'user_sign_in' && r.code === 'rate_limited')
          .map((r) => r.detail),
      )
      .toEqual(['throttled_account', 'throttled_account', 'throttled_address']);
  });

  it('every failed sign-in writes one security record, without the password or the typed name', async () => {
    const before = (await securityRecords('acme')).filter(
      (r) => r.event === 'user_sign_in' && r.decision === 'deny',
    ).length;
    await postSignIn('acme', 'secret-name-xyz', 'secret-password-xyz');
    await expect
      .poll(
        async () =>
          (await securityRecords('acme')).filter((r) => r.event === 'user_sign_in' && r.decision === 'deny').length,
      )
      .toBe(before + 1);
    const text = JSON.stringify(await securityRecords('acme'));
    expect(text).not.toContain('secret-password-xyz');
    expect(text).not.toContain('secret-name-xyz');
  });

  it('admin API: list users (no hashes), disable one (their session ends at once), new invite', async () => {
    const listed = await admin('GET', '/tenants/acme/users');
    expect(listed.status).toBe(200);
    expect(listed.body.users.map((u) => u.name)).toContain('bob');
    expect(JSON.stringify(listed.body)).not.toMatch(/scrypt|passwordHash|invite_hash/);
    const bob = listed.body.users.find((u) => u.name === 'bob') as { id: string };
    const signedIn = await postSignIn('acme', 'bob', 'bob-password-123');
    expect(signedIn.status).toBe(303);
    expect((await admin('POST', `/tenants/acme/users/${bob.id}/disable`)).status).toBe(200);
    expect(await gateway.gateway.users!.signedInUser('acme', `gatehouse_session=${signedIn.session}`)).toBeUndefined();
    expect((await postSignIn('acme', 'bob', 'bob-password-123')).status).toBe(401);
    const invite = await admin('POST', `/tenants/acme/users/${bob.id}/invite`);
    expect(invite.body.inviteUrl).toMatch(/\/invite\//);
    expect((await admin('GET', '/tenants/nowhere/users')).status).toBe(404);
    expect((await admin('POST', '/tenants/acme/users', { name: 'alice' })).status).toBe(400);
    const unauthenticated = await fetch(`${gateway.url}/api/v1/tenants/acme/users`);
    expect(unauthenticated.status).toBe(401);
  });
});

describe('session cookies behind an https public URL', () => {
  it('get Secure (and keep HttpOnly, SameSite=Lax, Path=/)', async () => {
    const port = await freePort();
    const https = await startTestGateway({
      listen: `127.0.0.1:${port}`,
      publicUrl: 'https://gw.example.com',
      tenants: [{ id: 'acme' }],
    });
    try {
      const created = await https.gateway.users!.createUser('acme', { name: 'alice' }, 'operator');
      await https.gateway.users!.acceptInvite(created.inviteUrl.split('/invite/')[1] as string, 'alice-password-1');
      const local = `http://127.0.0.1:${port}`;
      const form = await fetch(`${local}/signin/acme`);
      const formCookie = (form.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      expect(form.headers.get('set-cookie')).toMatch(/; Secure$/);
      const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
      const answer = await fetch(`${local}/signin/acme`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: formCookie },
        body: new URLSearchParams({ name: 'alice', password: 'alice-password-1', csrf }).toString(),
      });
      expect(answer.status).toBe(303);
      const session = answer.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='));
      expect(session).toMatch(
        /^gatehouse_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200; Secure$/,
      );
    } finally {
      await https.close();
    }
  });
});
