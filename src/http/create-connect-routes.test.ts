import { afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import type { Gateway, GatewayConnections } from '../gateway/index.ts';
import { createConnectRoutes } from './create-connect-routes.ts';
import { createHttpApp } from './create-http-app.ts';
import { type RunningHttpServer, startHttpServer } from './start-http-server.ts';

let server: RunningHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function fakeConnections(secure: boolean, seen: Record<string, string>[] = []): GatewayConnections {
  return {
    secureCookie: secure,
    list: async () => [],
    createLink: async () => ({ authorizeUrl: '', expiresAt: '' }),
    disconnect: async () => ({ revoked: false }),
    async openLink(id, sig) {
      if (id !== 'acme.link' || sig !== 'good') throw new GatehouseError('not_found', 'This connect link is not valid');
      return {
        redirectUrl: 'https://as.example/authorize?x=1',
        cookie: { name: 'gh_connect_abc', value: 'v1', maxAgeSeconds: 600 },
      };
    },
    async completeCallback(params, cookies) {
      seen.push({ ...cookies });
      if (params.get('state') !== 'ok')
        throw new GatehouseError('oauth_state_invalid', 'The callback state is not known');
      return {
        tenant: 'acme',
        service: '<svc>',
        subject: 'a"li&ce',
        connectionId: 'c1',
        scopes: [],
        returnTo: '/back?a=1&b=2',
      };
    },
  };
}

async function serve(
  connections: GatewayConnections,
  publicUrl = 'http://127.0.0.1:8787',
  onCallbackFailure?: (error: GatehouseError) => void,
) {
  const routes = createConnectRoutes(connections, onCallbackFailure);
  const app = createHttpApp({ gateway: {} as Gateway, publicUrl, routes });
  server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
  return server.url;
}

describe('connect routes', () => {
  it('a failed callback is told to the server log hook with its code (the page alone gave no reason)', async () => {
    const failures: GatehouseError[] = [];
    const url = await serve(fakeConnections(false), undefined, (error) => failures.push(error));
    const failed = await fetch(`${url}/oauth/callback?code=c&state=nope`);
    expect(failed.status).toBe(400);
    expect(failures.map((f) => f.code)).toEqual(['oauth_state_invalid']);
  });

  it('GET /connect/:link redirects to the authorization server with an HttpOnly, SameSite=Lax session cookie', async () => {
    const url = await serve(fakeConnections(false));
    const response = await fetch(`${url}/connect/acme.link?sig=good`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://as.example/authorize?x=1');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toBe('gh_connect_abc=v1; Path=/oauth/callback; Max-Age=600; HttpOnly; SameSite=Lax');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('adds Secure when the public URL is https, and answers a plain page for a bad link', async () => {
    const url = await serve(fakeConnections(true));
    const good = await fetch(`${url}/connect/acme.link?sig=good`, { redirect: 'manual' });
    expect(good.headers.get('set-cookie')).toMatch(/; Secure$/);
    const bad = await fetch(`${url}/connect/acme.link?sig=bad`, { redirect: 'manual' });
    expect(bad.status).toBe(404);
    expect(bad.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await bad.text()).toContain('<code>not_found</code>');
  });

  it('GET /oauth/callback passes the cookies and answers an HTML-escaped success or failure page', async () => {
    const seen: Record<string, string>[] = [];
    const url = await serve(fakeConnections(false, seen));
    const ok = await fetch(`${url}/oauth/callback?code=c&state=ok`, {
      headers: { cookie: 'gh_connect_abc=v1; other=2' },
    });
    const html = await ok.text();
    expect(ok.status).toBe(200);
    expect(html).toContain('Connected &#60;svc&#62; for a&#34;li&#38;ce. You can close this tab.');
    expect(html).toContain('href="/back?a=1&#38;b=2"');
    expect(html).not.toContain('<script');
    expect(seen[0]).toEqual({ gh_connect_abc: 'v1', other: '2' });
    const failed = await fetch(`${url}/oauth/callback?code=c&state=nope`);
    expect(failed.status).toBe(400);
    expect(await failed.text()).toContain('<code>oauth_state_invalid</code>');
  });
});
