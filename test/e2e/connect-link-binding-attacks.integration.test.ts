import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLinkOf, isConnectLinkUnused } from '../support/connect-links.ts';
import { addSignedUpUser } from '../support/console-sign-in.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { mailDescription, mailService, startMailAuthorizationServer } from '../support/mail-oauth-service.ts';
import type { RunningOidcProvider } from '../support/start-oidc-provider.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * A hostile look at who may open a connect link (finding connect_link_forwarded_connects_other_account): an attacker
 * holding a member account, a user of another tenant, or only a link tries the sign-in return paths, subjects that
 * look like a user id, the confirmation form (CSRF, replay, race), framing, markup and bidi text on the pages, the
 * audit cap, and the console's connect form. Real gateway, oidc-provider, Debian's Chromium where a person clicks.
 * Screenshots: test-results/connect-link-attacks-*.png.
 */
const adminToken = 'connect-link-attacks-admin-token-0123456789';
const metricsToken = 'connect-link-attacks-metrics-token-0123456789';
const password = 'connect-link-attacks-password-1';
/** The title an upstream's description gives itself: markup, and a right-to-left override that flips what follows. */
const hostileTitle = 'Docs <img src=x onerror="document.title=1"> \u202Eexe.fdp';
const missing = chromiumMissing();

let as: RunningOidcProvider;
let gateway: TestGateway;
let chromium: RunningChromium;
let fixtures: string;
const ids: Record<'alice' | 'mallory' | 'olga' | 'bob', string> = { alice: '', mallory: '', olga: '', bob: '' };
// Sign-in is limited to 5 attempts per account a minute: each test signs in as few times as it can, eve for the return paths.

beforeAll(async () => {
  if (missing !== undefined) return;
  fixtures = mkdtempSync(join(tmpdir(), 'connect-link-attacks-'));
  const hostileDescription = join(fixtures, 'docs.openapi.yaml');
  writeFileSync(
    hostileDescription,
    readFileSync(mailDescription, 'utf8').replace('title: Fake API', `title: ${JSON.stringify(hostileTitle)}`),
  );
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  as = await startMailAuthorizationServer(publicUrl);
  gateway = await startTestGateway(
    {
      adminToken,
      metricsToken,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [mailService(as), mailService(as, 'docs', hostileDescription)],
          toolsets: [{ id: 'mail', tools: ['mail_*'] }],
        },
        {
          id: 'globex',
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
  await addSignedUpUser(users, 'acme', 'eve', password, 'member');
  // Bob owns tenant globex: an owner elsewhere is nobody in acme.
  ids.bob = await addSignedUpUser(users, 'globex', 'bob', password, 'owner');
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await gateway?.close();
  await as?.close();
  if (fixtures !== undefined) rmSync(fixtures, { recursive: true, force: true });
});

const linkFor = (subject: string, service = 'mail') => connectLinkOf(gateway, 'acme', service, subject);
const unused = (linkId: string) => isConnectLinkUnused(gateway, 'acme', linkId);

/** The `name=value` pairs of a response's cookies, for the next request. */
function cookiesOf(response: Response): string[] {
  return response.headers.getSetCookie().map((c) => c.split(';')[0] ?? '');
}

function csrfOf(html: string): string {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (csrf === undefined) throw new Error('no CSRF field on the page');
  return csrf;
}

/** Posts the tenant sign-in form as a browser of this origin would (with its CSRF cookie); the raw answer. */
async function postSignIn(tenant: string, name: string, returnTo: string): Promise<Response> {
  const form = await fetch(`${gateway.url}/signin/${tenant}`);
  return fetch(`${gateway.url}/signin/${tenant}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: cookiesOf(form).join('; '),
      origin: gateway.url,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ csrf: csrfOf(await form.text()), name, password, return: returnTo }),
  });
}

/** A session cookie (`gatehouse_session=...`) of `name` in `tenant`. */
async function sessionOf(tenant: string, name: string): Promise<string> {
  const signedIn = await postSignIn(tenant, name, `/account/${tenant}`);
  const session = cookiesOf(signedIn).find((c) => c.startsWith('gatehouse_session='));
  if (session === undefined) throw new Error(`sign-in of ${name}: ${signedIn.status}`);
  return session;
}

/** A browser of its own, signed in to `tenant` as `name` on the sign-in page. */
async function signedInAs(name: string, tenant = 'acme'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.newContext();
  const page = await context.newPage();
  await page.goto(`${gateway.url}/signin/${tenant}`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/signin/')),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  return { context, page };
}

async function connectionsOf(subject: string) {
  return (await gateway.adapters.store.connections.list('acme')).filter((c) => c.subject === subject);
}

describe.skipIf(missing !== undefined)('attacks on who may open a connect link', () => {
  it('connect_link_confirm_heading_hides_bidi: the confirmation names a hostile service title and subject with every invisible character marked, markup inert', async () => {
    const subject = 'kate\u202Etnega-\u200B';
    const link = await linkFor(subject, 'docs');
    const olga = await signedInAs('olga');
    await olga.page.goto(link.url);
    await chromium.screenshot(olga.page, 'connect-link-attacks-1-confirm-hostile-names');
    const heading = (await olga.page.locator('h1').textContent()) ?? '';
    // The heading is what a person reads first: the override must show as a mark, not flip "exe.fdp" into "pdf.exe".
    expect(heading).not.toMatch(/[\u202E\u200B]/);
    expect(heading).toContain('U+202E');
    expect(heading).toContain('U+200B');
    expect(await olga.page.title()).not.toMatch(/[\u202E\u200B]/);
    const body = (await olga.page.locator('body').textContent()) ?? '';
    expect(body).not.toMatch(/[\u202E\u200B]/);
    expect(await olga.page.locator('img').count()).toBe(0);
    expect(await olga.page.title()).not.toBe('1');
    expect(await unused(link.id)).toBe(true);
    await olga.context.close();
  });

  it('connect_link_refusal_audited_under_victim: a refused visit is recorded under who opened the link, naming the link it was for', async () => {
    const link = await linkFor(ids.alice);
    const mallory = await sessionOf('acme', 'mallory');
    expect((await fetch(link.url, { headers: { cookie: mallory }, redirect: 'manual' })).status).toBe(403);
    const denials = (
      await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'security', order: 'desc', limit: 5 })
    ).filter((r) => r.event === 'connect' && r.decision === 'deny');
    // Recorded under Alice, the record would blame her for Mallory's attempt and leave Mallory unnamed.
    expect(denials[0]).toMatchObject({
      subject: ids.mallory,
      detail: 'link_of_another_user',
      target: `service:mail/subject:${ids.alice}`,
    });
  });

  it('the sign-in return path never leaves the origin (tenant and operator sign-in)', async () => {
    const offSite = [
      '//evil.example/x',
      '/\\evil.example',
      'https://evil.example/',
      '/%2F%2Fevil.example',
      '/%252F%252Fevil.example',
      '/%5Cevil.example',
      ' //evil.example',
      '/\t/evil.example',
      'javascript:alert(1)',
      '/connect/x#@evil.example',
      '\u3002/evil.example',
    ];
    for (const value of offSite) {
      const page = await (await fetch(`${gateway.url}/signin/acme?return=${encodeURIComponent(value)}`)).text();
      const returns = [...page.matchAll(/name="return" value="([^"]*)"/g)].map((m) => m[1]);
      expect(returns.length, value).toBeGreaterThan(0);
      expect(new Set(returns), value).toEqual(new Set(['/account/acme']));
    }
    // The form's own field, posted with the off-site value (a forged or edited form): the account page all the same.
    for (const value of ['//evil.example/x', '/%2F%2Fevil.example']) {
      const answer = await postSignIn('acme', 'eve', value);
      expect(answer.status, value).toBe(303);
      expect(answer.headers.get('location'), value).toBe('/account/acme');
    }
    const form = await fetch(`${gateway.url}/operator/signin`);
    const formCookie = cookiesOf(form).join('; ');
    const csrf = csrfOf(await form.text());
    for (const value of [...offSite, '/connect/../signin/acme', '/account/acme']) {
      const answer = await fetch(`${gateway.url}/operator/signin`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: formCookie, origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, adminToken, return: value }),
      });
      const location = answer.headers.get('location') ?? '';
      expect(new URL(location, gateway.url).origin, value).toBe(gateway.url);
      expect(location === '/console' || location.startsWith('/connect/'), value).toBe(true);
    }
  });

  it("a user or owner of another tenant is nobody at tenant acme's links: sent to acme's sign-in, nothing used", async () => {
    const userLink = await linkFor(ids.alice);
    const keyLink = await linkFor('kate-agent');
    // Bob's id as a subject of acme: no user of acme, so only an acme admin could open it.
    const bobsId = await linkFor(ids.bob);
    const bob = await signedInAs('bob', 'globex');
    for (const link of [userLink, keyLink, bobsId]) {
      await bob.page.goto(link.url);
      expect(new URL(bob.page.url()).pathname).toBe('/signin/acme');
      expect(await unused(link.id)).toBe(true);
    }
    await chromium.screenshot(bob.page, 'connect-link-attacks-2-other-tenant-sent-to-sign-in');
    // Bob's own session cookie presented on acme's confirmation form does not count either.
    const cookie = (await bob.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const posted = await fetch(`${gateway.url}${keyLink.path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ sig: keyLink.sig, csrf: 'x'.repeat(43) }),
    });
    expect(posted.status).toBe(403);
    expect(await unused(keyLink.id)).toBe(true);
    await bob.context.close();
  });

  it("subjects that only look like a user's id (case, whitespace, width, zero-width) never open for that user", async () => {
    const lookalikes = [
      ids.alice.toUpperCase(),
      `${ids.alice} `,
      ` ${ids.alice}`,
      `${ids.alice}\u200B`,
      ids.alice.replace('usr_', '\uFF55\uFF53\uFF52_'),
      ids.alice.normalize('NFD').replace('u', 'u\u0301'),
    ];
    const alice = await sessionOf('acme', 'alice');
    for (const subject of lookalikes) {
      const link = await linkFor(subject);
      const visit = await fetch(link.url, { headers: { cookie: alice }, redirect: 'manual' });
      expect(visit.status, JSON.stringify(subject)).toBe(403);
      expect(await visit.text()).toContain('which is no user');
      expect(await unused(link.id)).toBe(true);
    }
    expect(await connectionsOf(ids.alice)).toEqual([]);
  });

  it("the confirmation form: no token, another session's token, a cross-site post, a replay and a race use the link at most once", async () => {
    const link = await linkFor('race-agent');
    const olga = await sessionOf('acme', 'olga');
    const page = await fetch(link.url, { headers: { cookie: olga } });
    const token = csrfOf(await page.text());
    const otherOlga = await sessionOf('acme', 'olga');
    const otherToken = csrfOf(await (await fetch(link.url, { headers: { cookie: otherOlga } })).text());
    expect(otherToken).not.toBe(token);
    const post = (csrf: string, origin: string, cookie = olga) =>
      fetch(`${gateway.url}${link.path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ sig: link.sig, csrf }),
      });
    expect((await post('', gateway.url)).status).toBe(403);
    expect((await post(otherToken, gateway.url)).status).toBe(403);
    expect((await post(token, 'http://evil.example')).status).toBe(403);
    expect((await post(token, 'null')).status).toBe(403);
    expect(await unused(link.id)).toBe(true);
    // Two confirmations at once: exactly one reaches the provider.
    const raced = await Promise.all([post(token, gateway.url), post(token, gateway.url), post(token, gateway.url)]);
    const statuses = raced.map((r) => r.status).sort();
    expect(statuses).toEqual([303, 404, 404]);
    expect(await unused(link.id)).toBe(false);
    // And a replay afterwards (the page or the form) finds nothing.
    expect((await post(token, gateway.url)).status).toBe(404);
    expect((await fetch(link.url, { headers: { cookie: olga }, redirect: 'manual' })).status).toBe(404);
  });

  it('a cross-site page cannot frame the confirmation or post it for a signed-in admin', async () => {
    const link = await linkFor('framed-agent');
    const olga = await signedInAs('olga');
    const evilPort = await freePort();
    // Another site (localhost, not 127.0.0.1): a frame of the confirmation, and a form that posts it.
    const evil: Server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        req.url === '/post'
          ? `<form id="f" method="post" action="${gateway.url}${link.path}"><input name="sig" value="${link.sig}"><input name="csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`
          : `<iframe id="f" src="${link.url}" width="600" height="400"></iframe>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
    try {
      const framedAnswer = olga.page.waitForResponse((r) => r.url().startsWith(`${gateway.url}/connect/`));
      await olga.page.goto(`http://localhost:${evilPort}/frame`);
      const answer = await framedAnswer;
      expect(answer.headers()['x-frame-options']).toBe('DENY');
      expect(answer.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
      await olga.page.waitForTimeout(300);
      await chromium.screenshot(olga.page, 'connect-link-attacks-3-framed');
      const frame = olga.page.frames().find((f) => f.url().startsWith(gateway.url));
      const framedText =
        frame === undefined
          ? ''
          : await frame
              .locator('body')
              .textContent()
              .catch(() => '');
      expect(framedText ?? '').not.toContain('framed-agent');
      await olga.page.goto(`http://localhost:${evilPort}/post`);
      await olga.page.waitForURL((url) => url.href.startsWith(gateway.url));
      await chromium.screenshot(olga.page, 'connect-link-attacks-4-cross-site-post');
      expect(new URL(olga.page.url()).origin).toBe(gateway.url);
      expect(await unused(link.id)).toBe(true);
    } finally {
      await new Promise((resolve) => evil.close(resolve));
      await olga.context.close();
    }
  });

  it('after signing out, her own link sends the user to sign in again and stays unused', async () => {
    const link = await linkFor(ids.alice);
    const { context, page } = await signedInAs('alice');
    await page.goto(`${gateway.url}/account/acme`);
    await Promise.all([
      page.waitForURL((url) => url.pathname.startsWith('/signin/')),
      page.getByRole('button', { name: 'Sign out' }).first().click(),
    ]);
    await page.goto(link.url);
    expect(new URL(page.url()).pathname).toBe('/signin/acme');
    expect(await unused(link.id)).toBe(true);
    await context.close();
  });

  it("the operator session: HttpOnly, SameSite=Strict; the operator is refused a user's link, confirms a key subject, and a confirmation posted after signing out is refused", async () => {
    const form = await fetch(`${gateway.url}/operator/signin`);
    const signedIn = await fetch(`${gateway.url}/operator/signin`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: cookiesOf(form).join('; '),
        origin: gateway.url,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ csrf: csrfOf(await form.text()), adminToken }),
    });
    const raw = signedIn.headers.getSetCookie().find((c) => c.startsWith('gatehouse_operator=')) ?? '';
    expect(raw).toMatch(/; HttpOnly/);
    expect(raw).toMatch(/; SameSite=Strict/);
    const operator = raw.split(';')[0] ?? '';
    const userLink = await linkFor(ids.alice);
    expect((await fetch(userLink.url, { headers: { cookie: operator }, redirect: 'manual' })).status).toBe(403);
    expect(await unused(userLink.id)).toBe(true);
    const keyLink = await linkFor('ops-agent');
    const confirm = await fetch(keyLink.url, { headers: { cookie: operator }, redirect: 'manual' });
    expect(confirm.status).toBe(200);
    const page = await confirm.text();
    expect(page).toContain('ops-agent');
    expect(await unused(keyLink.id)).toBe(true);
    // Signed out between the page and the post: the form it left behind no longer confirms anything.
    const token = csrfOf(page);
    const signedOut = await fetch(`${gateway.url}/operator/signout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: operator, origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: token }),
    });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.getSetCookie()).toContainEqual(expect.stringMatching(/^gatehouse_operator=;.*Max-Age=0/));
    // The browser no longer sends the cookie. (A copy of the cookie taken before is refused too:
    // operator_cookie_outlives_sign_out, test/e2e/operator-sign-out.integration.test.ts.)
    const late = await fetch(`${gateway.url}${keyLink.path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ sig: keyLink.sig, csrf: token }),
    });
    expect(late.status).toBe(403);
    expect(await unused(keyLink.id)).toBe(true);
  });

  it('connect_link_refusals_over_cap_leave_no_trace: refusals flood the audit log no further than the per-tenant cap, every refusal still refuses, and those over the cap are counted', async () => {
    const link = await linkFor('flood-agent');
    const mallory = await sessionOf('acme', 'mallory');
    const before = (await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'security' })).filter(
      (r) => r.event === 'connect' && r.decision === 'deny',
    ).length;
    const statuses = new Set<number>();
    for (let i = 0; i < 80; i++) {
      statuses.add((await fetch(link.url, { headers: { cookie: mallory }, redirect: 'manual' })).status);
    }
    expect([...statuses]).toEqual([403]);
    const after = (await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'security' })).filter(
      (r) => r.event === 'connect' && r.decision === 'deny',
    ).length;
    expect(after - before).toBeGreaterThan(0);
    expect(after - before).toBeLessThanOrEqual(60);
    expect(await unused(link.id)).toBe(true);
    // What the cap kept out of the log is still seen: counted, as admin denials and callback rejections are.
    const metrics = await (
      await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
    ).text();
    const counted = (audited: string) =>
      Number(
        new RegExp(
          `gatehouse_connect_link_refusals_total\\{tenant="acme",reason="link_needs_admin",audited="${audited}"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    expect(counted('false')).toBe(80 - (after - before));
    expect(counted('true')).toBeGreaterThanOrEqual(after - before);
  });

  it("the 403 page shows a hostile subject's markup and bidi characters as text and marks", async () => {
    const link = await linkFor('kate<script>document.title=1</script>\u202Etnega');
    const mallory = await signedInAs('mallory');
    const answer = await mallory.page.goto(link.url);
    await chromium.screenshot(mallory.page, 'connect-link-attacks-5-refused-hostile-subject');
    expect(answer?.status()).toBe(403);
    expect(answer?.headers()['x-frame-options']).toBe('DENY');
    const body = (await mallory.page.locator('body').textContent()) ?? '';
    expect(body).toContain('<script>');
    expect(body).toContain('U+202E');
    expect(body).not.toContain('\u202E');
    expect(await mallory.page.title()).not.toBe('1');
    await mallory.context.close();
  });

  it("the console's connect form of a member makes a link for the member, whatever subject is posted", async () => {
    const { context, page } = await signedInAs('mallory');
    await page.goto(`${gateway.url}/console/acme/connections`);
    const csrf = await page.locator('input[name="csrf"]').first().getAttribute('value');
    const posted = await context.request.post(`${gateway.url}/console/acme/connections`, {
      form: { csrf: csrf ?? '', action: 'connect', service: 'mail', subject: ids.alice },
      headers: { origin: gateway.url },
    });
    const html = await posted.text();
    const url = /id="connect-link" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&') ?? '';
    expect(url).not.toBe('');
    const id = decodeURIComponent(/\/connect\/([^?]+)/.exec(url)?.[1] ?? '');
    expect((await gateway.adapters.store.connectFlow.getLink('acme', id))?.subject).toBe(ids.mallory);
    await context.close();
  });

  it("connectLinks.unsafeLinkAloneConnects opens a key subject's link to anyone, never a user's", async () => {
    const unsafe = await startTestGateway(
      {
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        connectLinks: { unsafeLinkAloneConnects: true },
        tenants: [
          {
            id: 'acme',
            services: [mailService(as)],
            toolsets: [{ id: 'mail', tools: ['mail_*'] }],
          },
        ],
      },
      { port: await freePort() },
    );
    try {
      const users = unsafe.gateway.users!;
      const carol = await addSignedUpUser(users, 'acme', 'carol', password, 'member');
      await addSignedUpUser(users, 'acme', 'dave', password, 'owner');
      const link = async (subject: string) =>
        new URL((await unsafe.gateway.connections!.createLink('acme', { service: 'mail', subject })).authorizeUrl);
      const usedUp = async (url: URL) =>
        (await unsafe.adapters.store.connectFlow.getLink('acme', decodeURIComponent(url.pathname.split('/')[2] ?? '')))
          ?.usedAt !== null;
      // Carol's link, held by nobody signed in, or by dave (an owner): the sign-in page and a refusal, unused.
      const carolsLink = await link(carol);
      const anonymous = await fetch(carolsLink, { redirect: 'manual' });
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.get('location')).toMatch(/^\/signin\/acme\?/);
      const form = await fetch(`${unsafe.url}/signin/acme`);
      const signedIn = await fetch(`${unsafe.url}/signin/acme`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie: cookiesOf(form).join('; '),
          origin: unsafe.url,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ csrf: csrfOf(await form.text()), name: 'dave', password }),
      });
      const dave = cookiesOf(signedIn).find((c) => c.startsWith('gatehouse_session=')) ?? '';
      expect((await fetch(carolsLink, { headers: { cookie: dave }, redirect: 'manual' })).status).toBe(403);
      expect(await usedUp(carolsLink)).toBe(false);
      // A key subject's link: straight to the provider for whoever holds it (the documented opt-out).
      const keyLink = await link('kate-agent');
      const opened = await fetch(keyLink, { redirect: 'manual' });
      expect(opened.status).toBe(302);
      expect(opened.headers.get('location')?.startsWith(as.issuer)).toBe(true);
      expect(await usedUp(keyLink)).toBe(true);
    } finally {
      await unsafe.close();
    }
  });
});
