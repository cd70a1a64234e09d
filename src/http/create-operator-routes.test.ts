import { createSecretKey, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/index.ts';
import { createMemoryLimiter } from '../policy/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createOperatorSessions } from '../users/index.ts';
import { createOperatorRoutes, type OperatorSignInEvent } from './create-operator-routes.ts';
import { createRouter } from './create-router.ts';

const adminToken = 'operator-routes-admin-token-0123456789';
let server: Server | undefined;

/** Where sign-outs are recorded: a real (in-memory SQLite) store. */
let store: Store;
beforeAll(async () => {
  store = await openStore('sqlite::memory:');
  await store.migrate();
});
afterAll(() => store?.close());

afterEach(() => {
  server?.close();
  server = undefined;
});

/** The operator routes alone on 127.0.0.1 (real sockets, real limiter); `events` collects what they report. */
async function serve(options: { secureCookie?: boolean; attemptsPerMinute?: number } = {}) {
  const events: OperatorSignInEvent[] = [];
  const { routes } = createOperatorRoutes({
    sessions: createOperatorSessions({
      adminToken,
      keys: { current: 1, keys: new Map([[1, createSecretKey(randomBytes(32))]]) },
      ended: store.operatorSessionEnds,
      now: () => Date.now(),
    }),
    secureCookie: options.secureCookie ?? false,
    limiter: createMemoryLimiter(systemClock),
    ...(options.attemptsPerMinute === undefined ? {} : { attemptsPerMinute: options.attemptsPerMinute }),
    listTenants: async () => [{ id: 'acme', services: [], toolsets: [] }],
    onEvent: (event) => events.push(event),
  });
  const router = createRouter(routes);
  server = createServer((req, res) => {
    const match = router.match(req.method ?? 'GET', (req.url ?? '/').split('?')[0] as string);
    if (match.kind !== 'found') return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void match.route.handle({
        req,
        res,
        params: match.params,
        requestId: 'r1',
        clientAddress: req.socket.remoteAddress ?? 'unknown',
        readBody: async () => Buffer.concat(chunks),
      });
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /** The sign-in form's CSRF cookie and field, as a browser gets them from the page. */
  async function openForm(): Promise<{ cookie: string; csrf: string }> {
    const page = await fetch(`${url}/operator/signin`);
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    return { cookie, csrf };
  }

  async function signIn(token: string, form = { cookie: '', csrf: '' }, returnTo = '/console/acme') {
    return fetch(`${url}/operator/signin`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
      body: new URLSearchParams({ csrf: form.csrf, return: returnTo, adminToken: token }).toString(),
    });
  }
  return { url, events, openForm, signIn };
}

describe('createOperatorRoutes()', () => {
  it('signs in with the admin token: an HttpOnly, SameSite=Strict, 8-hour cookie on /, then back to the console page', async () => {
    const { openForm, signIn, events } = await serve({ secureCookie: true });
    const answer = await signIn(adminToken, await openForm());
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/console/acme');
    const cookie = answer.headers.getSetCookie().find((c) => c.startsWith('gatehouse_operator='));
    expect(cookie).toMatch(/^gatehouse_operator=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/);
    expect(cookie).not.toContain(adminToken);
    expect(events).toEqual([{ event: 'operator_sign_in', decision: 'allow', address: '127.0.0.1' }]);
  });

  it('returns only to a console path of this gateway', async () => {
    const { openForm, signIn } = await serve();
    for (const [sent, location] of [
      ['//evil.example/console', '/console'],
      ['https://evil.example/console/acme', '/console'],
      ['/account/acme', '/console'],
      ['/console/acme/audit?tool=x', '/console/acme/audit?tool=x'],
    ] as const) {
      expect((await signIn(adminToken, await openForm(), sent)).headers.get('location'), sent).toBe(location);
    }
  });

  it('refuses a sign-in form without its CSRF cookie before looking at the token', async () => {
    const { signIn, events } = await serve();
    const answer = await signIn(adminToken, { cookie: '', csrf: 'x'.repeat(32) });
    expect(answer.status).toBe(403);
    expect(answer.headers.getSetCookie().some((c) => c.startsWith('gatehouse_operator='))).toBe(false);
    expect(events.map((e) => e.reason)).toEqual(['csrf']);
  });

  it('limits sign-in attempts per client address: the 21st in a minute is refused with Retry-After, even the right token; nothing reported holds a typed token', async () => {
    const { openForm, signIn, events } = await serve();
    const form = await openForm();
    for (let i = 0; i < 20; i++) {
      const wrong = await signIn(`guess-${i}-${adminToken}`, form);
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toContain('Wrong admin token');
    }
    const throttled = await signIn(adminToken, form);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await throttled.text()).toContain('Too many sign-in attempts from your address');
    expect(events.filter((e) => e.reason === 'wrong_token')).toHaveLength(20);
    expect(events.at(-1)).toEqual({
      event: 'operator_sign_in',
      decision: 'deny',
      reason: 'rate_limited',
      address: '127.0.0.1',
    });
    expect(JSON.stringify(events)).not.toContain(adminToken);
  });

  it('sends the console home to the sign-in form without a session, and lists the tenants with one', async () => {
    const { url, openForm, signIn } = await serve();
    const away = await fetch(`${url}/console`, { redirect: 'manual' });
    expect(away.headers.get('location')).toBe('/operator/signin');
    const signedIn = await signIn(adminToken, await openForm());
    const cookie = (signedIn.headers.getSetCookie().find((c) => c.startsWith('gatehouse_operator=')) ?? '').split(
      ';',
    )[0];
    const home = await fetch(`${url}/console`, { headers: { cookie: cookie as string } });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('<a href="/console/acme">acme</a>');
  });
});
