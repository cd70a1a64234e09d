import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolePages } from '../../src/http/console/index.ts';
import { type TenantRole, tenantRoles } from '../../src/users/index.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Every console page against every role (issue 14, "every console page checks the role"): the table is generated
 * from `consolePages`, so a page added there is covered without touching this file. A user with the role gets the
 * page; without it, 403 (the console root sends them to a section they may open instead); not signed in, a
 * redirect to the sign-in page; a form posted without the session's CSRF token, 403 and nothing done.
 */
const password = 'console-roles-password-0123';
let gateway: TestGateway;
/** The session cookie of a user holding exactly one role (and of one holding none). */
const sessions = new Map<TenantRole | 'none', string>();

async function signIn(name: string): Promise<string> {
  const form = await fetch(`${gateway.url}/signin/acme`);
  const cookie = (form.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const answer = await fetch(`${gateway.url}/signin/acme`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: gateway.url },
    body: new URLSearchParams({ name, password, csrf, return: '/console/acme' }).toString(),
  });
  const session = /gatehouse_session=([^;]+)/.exec(answer.headers.get('set-cookie') ?? '')?.[1];
  if (answer.status !== 303 || session === undefined) throw new Error(`sign-in of ${name}: ${answer.status}`);
  return `gatehouse_session=${session}`;
}

async function open(path: string, cookie?: string): Promise<Response> {
  return fetch(`${gateway.url}${path}`, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
}

/** The page's URL with every `:name` segment filled (the role check comes before the page looks at it). */
function urlOf(path: string): string {
  return `/console/acme${path === '/' ? '' : path.replace(/:[A-Za-z]+/g, 'x')}`;
}

const table = consolePages.flatMap((page) =>
  (['none', ...tenantRoles] as const).map((role) => ({
    page,
    role,
    allowed: role !== 'none' && page.roles.includes(role),
  })),
);

describe('console pages check the role of the signed-in user', () => {
  beforeAll(async () => {
    gateway = await startTestGateway({ adminToken: 'console-roles-admin-token-0123456789', tenants: [{ id: 'acme' }] });
    const users = gateway.gateway.users!;
    for (const role of ['none', ...tenantRoles] as const) {
      const created = await users.createUser('acme', { name: `user-${role}` }, 'operator');
      await users.acceptInvite(created.inviteUrl.split('/invite/')[1] as string, password);
      if (role !== 'none') await users.roles.grantRole('acme', created.user.id, role, 'operator');
      sessions.set(role, await signIn(`user-${role}`));
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
  });

  it.each(table)('$page.path for role $role: allowed $allowed', async ({ page, role, allowed }) => {
    const answer = await open(urlOf(page.path), sessions.get(role));
    await answer.body?.cancel();
    expect(answer.headers.get('cache-control')).toBe('no-store');
    if (allowed) {
      expect(answer.status).not.toBe(403);
      expect(answer.status).toBeLessThan(500);
      return;
    }
    if (page.path === '/' && answer.status === 303) {
      // The root sends the user to the first section they may open: a page of that section allows them.
      const location = answer.headers.get('location') ?? '';
      const section = location.split('/')[3];
      const target = consolePages.find((p) => p.path === `/${section}`);
      expect(target?.roles.includes(role as TenantRole)).toBe(true);
      return;
    }
    expect(answer.status).toBe(403);
    expect(answer.headers.get('x-frame-options')).toBe('DENY');
  });

  it('every page sends a visitor without a session to the sign-in page, returning to it afterwards', async () => {
    for (const page of consolePages) {
      const answer = await open(urlOf(page.path));
      expect(answer.status).toBe(303);
      expect(answer.headers.get('location')).toBe(`/signin/acme?return=${encodeURIComponent(urlOf(page.path))}`);
    }
  });

  it('a form posted without the session CSRF token is refused with 403 on every page that takes forms', async () => {
    const owner = sessions.get('owner') as string;
    for (const page of consolePages.filter((p) => p.post !== undefined)) {
      const answer = await fetch(`${gateway.url}${urlOf(page.path)}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: owner, origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'csrf=wrong&action=anything',
      });
      await answer.body?.cancel();
      expect(answer.status, page.path).toBe(403);
    }
  });

  it("a member sees only their own connections and cannot revoke another user's (404, nothing revoked)", async () => {
    const member = (await gateway.gateway.users!.listUsers('acme')).find((u) => u.name === 'user-member')!;
    for (const [id, subject] of [
      ['conn_own', member.id],
      ['conn_other', 'bob'],
    ] as const) {
      await gateway.adapters.store.connections.upsert({
        tenantId: 'acme',
        id,
        service: 'crm',
        subject,
        status: 'active',
        scopes: ['read'],
        accessToken: null,
        refreshToken: null,
        accessExpiresAt: null,
        createdAt: Date.now(),
      });
    }
    const cookie = sessions.get('member') as string;
    const page = await (await open('/console/acme/connections', cookie)).text();
    expect(page).toContain(member.id);
    expect(page).not.toContain('>bob<');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const answer = await fetch(`${gateway.url}/console/acme/connections`, {
      method: 'POST',
      headers: { cookie, origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, action: 'revoke', connection: 'conn_other' }).toString(),
    });
    expect(answer.status).toBe(404);
    await answer.body?.cancel();
    expect(await gateway.adapters.store.connections.find('acme', 'crm', 'bob')).toBeDefined();
  });

  it("admin_takes_over_owner: an admin's crafted users form cannot reinvite or disable an owner (403, nothing done)", async () => {
    const owner = (await gateway.gateway.users!.listUsers('acme')).find((u) => u.name === 'user-owner')!;
    const cookie = sessions.get('admin') as string;
    const page = await (await open('/console/acme/users', cookie)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    for (const action of ['reinvite', 'disable']) {
      const answer = await fetch(`${gateway.url}/console/acme/users`, {
        method: 'POST',
        headers: { cookie, origin: gateway.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, action, user: owner.id }).toString(),
      });
      const text = await answer.text();
      expect(answer.status, action).toBe(403);
      expect(text).not.toContain('/invite/');
    }
    const after = (await gateway.gateway.users!.listUsers('acme')).find((u) => u.id === owner.id)!;
    expect(after.status).toBe('active');
    expect(after.invitePending).toBe(false);
    // The owner still signs in with their password: no new invite replaced anything.
    expect(await signIn('user-owner')).toMatch(/^gatehouse_session=/);
  });

  it('an unknown tenant has no console (404)', async () => {
    const answer = await open('/console/nobody', sessions.get('owner'));
    expect(answer.status).toBe(404);
    await answer.body?.cancel();
  });

  it('serves the stylesheet and script from the gateway, and the pages allow nothing inline', async () => {
    const css = await open('/console/assets/console.css');
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(await css.text()).toContain('@media');
    const js = await open('/console/assets/console.js');
    expect(js.headers.get('content-type')).toContain('javascript');
    await js.body?.cancel();
    const page = await open('/console/acme/audit', sessions.get('owner'));
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    await page.body?.cancel();
  });
});
