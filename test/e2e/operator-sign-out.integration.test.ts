import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { mailService, startMailAuthorizationServer } from '../support/mail-oauth-service.ts';
import type { RunningOidcProvider } from '../support/start-oidc-provider.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { type TestDatabase, testDatabases } from '../support/test-databases.ts';

/**
 * Finding operator_cookie_outlives_sign_out: the operator's console session was a stateless sealed cookie, so a
 * copy taken before sign-out kept opening every tenant's console, and confirming connect links for any subject,
 * for the rest of its 8 hours. Now a sign-out is recorded in the store every process of the fleet shares, and
 * every request carrying an operator cookie checks it. Two gateway processes (here: two instances) on one store,
 * SQLite always and PostgreSQL when GATEHOUSE_TEST_POSTGRES is set; real HTTP, a real OAuth provider.
 */
const adminToken = `operator-sign-out-admin-token-${randomBytes(12).toString('hex')}`;
const masterKey = randomBytes(32).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'operator-sign-out-'));

let as: RunningOidcProvider;
let publicUrl: string;
let ports: [number, number];

beforeAll(async () => {
  ports = [await freePort(), await freePort()];
  // One public URL for the fleet (the OAuth redirect); each instance is reached at its own port.
  publicUrl = `http://127.0.0.1:${ports[0]}`;
  as = await startMailAuthorizationServer(publicUrl);
});

afterAll(async () => {
  await as?.close();
  rmSync(dir, { recursive: true, force: true });
});

function startInstance(store: string, port: number): Promise<TestGateway> {
  return startTestGateway(
    {
      masterKey,
      adminToken,
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [mailService(as)],
          toolsets: [{ id: 'mail', tools: ['mail_*'] }],
        },
      ],
    },
    { store, port, publicUrl },
  );
}

function cookiesOf(response: Response): string[] {
  return response.headers.getSetCookie().map((c) => c.split(';')[0] ?? '');
}

function csrfOf(html: string): string {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (csrf === undefined) throw new Error('no CSRF field on the page');
  return csrf;
}

/** Signs in as the operator on `url` through the form, as a browser does; the `gatehouse_operator=...` cookie. */
async function signInAsOperator(url: string): Promise<string> {
  const form = await fetch(`${url}/operator/signin`);
  const signedIn = await fetch(`${url}/operator/signin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookiesOf(form).join('; '), origin: url, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: csrfOf(await form.text()), adminToken }),
  });
  const cookie = cookiesOf(signedIn).find((c) => c.startsWith('gatehouse_operator='));
  if (cookie === undefined) throw new Error(`operator sign-in: ${signedIn.status}`);
  return cookie;
}

/** Where `path` on `url` sends a browser holding `cookie` (200: the page itself). */
async function visit(url: string, path: string, cookie: string): Promise<{ status: number; location: string | null }> {
  const answer = await fetch(`${url}${path}`, { headers: { cookie }, redirect: 'manual' });
  await answer.arrayBuffer();
  return { status: answer.status, location: answer.headers.get('location') };
}

for (const kind of testDatabases(dir)) {
  describe.skipIf(!kind.enabled)(`operator sign-out across two gateway instances on ${kind.name}`, () => {
    let database: TestDatabase;
    let one: TestGateway;
    let two: TestGateway;

    beforeAll(async () => {
      database = await kind.create();
      one = await startInstance(database.url, ports[0]);
      two = await startInstance(database.url, ports[1]);
    }, 60_000);

    afterAll(async () => {
      await two?.close();
      await one?.close();
      await database?.drop();
    });

    async function keyLink(subject: string): Promise<{ url: string; path: string; sig: string; id: string }> {
      const link = await one.gateway.connections!.createLink('acme', { service: 'mail', subject });
      const url = new URL(link.authorizeUrl);
      return {
        url: link.authorizeUrl,
        path: url.pathname,
        sig: url.searchParams.get('sig') ?? '',
        id: decodeURIComponent(/\/connect\/([^?]+)$/.exec(url.pathname)?.[1] ?? ''),
      };
    }

    it('operator_cookie_outlives_sign_out: a copy of the cookie taken before sign-out is refused afterwards by every instance, on console pages and connect link confirmations', async () => {
      const copied = await signInAsOperator(one.url);
      const link = await keyLink('ops-agent');

      // Before sign-out the copy works on both instances: console pages, and the link's confirmation page.
      let confirmation = '';
      for (const gateway of [one, two]) {
        expect(await visit(gateway.url, '/console', copied)).toEqual({ status: 200, location: null });
        expect(await visit(gateway.url, '/console/acme/connections', copied)).toEqual({ status: 200, location: null });
        const page = await fetch(`${gateway.url}${link.path}?sig=${encodeURIComponent(link.sig)}`, {
          headers: { cookie: copied },
          redirect: 'manual',
        });
        expect(page.status).toBe(200);
        confirmation = await page.text();
        expect(confirmation).toContain('ops-agent');
      }
      const token = csrfOf(confirmation);

      // The operator signs out on instance one (with the session's CSRF token, as the console's form does).
      const signedOut = await fetch(`${one.url}/operator/signout`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: copied, origin: one.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: token }),
      });
      expect(signedOut.status).toBe(303);

      for (const gateway of [one, two]) {
        // The operator's home and a tenant's console: back to the sign-in forms.
        expect(await visit(gateway.url, '/console', copied)).toEqual({ status: 303, location: '/operator/signin' });
        const tenantPage = await visit(gateway.url, '/console/acme/connections', copied);
        expect(tenantPage.status).toBe(303);
        expect(tenantPage.location).toMatch(/^\/signin\/acme\?/);
        // The connect link: no confirmation page, only the sign-in ...
        const opened = await visit(gateway.url, `${link.path}?sig=${encodeURIComponent(link.sig)}`, copied);
        expect(opened.status).toBe(302);
        expect(opened.location).toMatch(/^\/signin\/acme\?return=/);
        // ... and the confirmation form left behind, posted with the copied cookie, confirms nothing.
        const late = await fetch(`${gateway.url}${link.path}`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: copied, origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ sig: link.sig, csrf: token }),
        });
        expect(late.status).toBe(403);
        expect(late.headers.get('location')).toBeNull();
      }
      expect((await one.adapters.store.connectFlow.getLink('acme', link.id))?.usedAt).toBeNull();

      // Signing in again is a new session, unaffected by the ended one.
      const again = await signInAsOperator(two.url);
      expect(again).not.toBe(copied);
      expect(await visit(one.url, '/console', again)).toEqual({ status: 200, location: null });
    }, 60_000);
  });
}
