import { afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import type { Gateway, GatewayConnections } from '../gateway/index.ts';
import { clientMetadataDocumentOf } from '../oauth/index.ts';
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
    clientMetadataDocument: clientMetadataDocumentOf('https://gw.example'),
    list: async () => [],
    createLink: async () => ({ authorizeUrl: '', expiresAt: '' }),
    disconnect: async () => ({ revoked: false }),
    async openLink(id, sig) {
      if (id !== 'acme.link' || sig !== 'good') throw new GatehouseError('not_found', 'This connect link is not valid');
      return {
        kind: 'started',
        started: {
          redirectUrl: 'https://as.example/authorize?x=1',
          cookie: { name: 'gh_connect_abc', value: 'v1', maxAgeSeconds: 600 },
        },
        serviceName: 'Mail (mail)',
      };
    },
    async completeCallback(params, cookies) {
      seen.push({ ...cookies });
      if (params.get('state') === 'exchange-failed') {
        throw new GatehouseError(
          'oauth_token_failed',
          'The authorization server refused the token request (invalid_grant)',
          {
            error: 'invalid_grant',
            status: 400,
            reason: 'error_response',
            description: 'Code <b>expired</b> \u202Efdp.exe [REDACTED]',
          },
        );
      }
      if (params.get('state') === 'client-refused') {
        throw new GatehouseError(
          'oauth_token_failed',
          'The authorization server refused the token request (invalid_client)',
          { error: 'invalid_client', status: 401, reason: 'error_response' },
        );
      }
      if (params.get('state') === 'two-sites') {
        return {
          tenant: 'acme',
          service: 'jira',
          subject: 'alice',
          state: 'two-sites',
          sites: [
            { id: '11111111-2222-4333-8444-000000000001', name: 'First', url: 'https://first.atlassian.net' },
            { id: '11111111-2222-4333-8444-000000000002', name: 'Sec\u202Eond <i>', url: '' },
          ],
          cookie: { name: 'gh_connect_abc', value: 'v1', maxAgeSeconds: 600 },
          serviceName: 'Jira <Cloud> (jira)',
          subjectName: 'user a"li&ce',
        };
      }
      if (params.get('state') !== 'ok')
        throw new GatehouseError('oauth_state_invalid', 'The callback state is not known');
      return {
        tenant: 'acme',
        service: '<svc>',
        subject: 'a"li&ce',
        connectionId: 'c1',
        scopes: [],
        requestedScopes: [],
        returnTo: '/back?a=1&b=2',
        serviceName: '<svc>',
        subjectName: 'a"li&ce',
      };
    },
    async chooseSite(state, site) {
      if (state !== 'two-sites' || site !== '11111111-2222-4333-8444-000000000002') {
        throw new GatehouseError('invalid_request', 'site: not one of the sites', { field: 'site' });
      }
      return {
        tenant: 'acme',
        service: 'jira',
        subject: 'alice',
        connectionId: 'c2',
        scopes: [],
        requestedScopes: [],
        returnTo: null,
        serviceName: 'jira',
        subjectName: 'alice',
      };
    },
    async retryLink(params) {
      return params.get('state') === 'exchange-failed' || params.get('state') === 'client-refused'
        ? 'http://127.0.0.1:8787/connect/acme.fresh?sig=s&x=1'
        : undefined;
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
  it("GET /oauth/client-metadata.json answers the gateway's client metadata document to an authorization server's fetch", async () => {
    const url = await serve(fakeConnections(true));
    // A server-to-server fetch carries no browser context; any Origin is answered the same public document.
    const response = await fetch(`${url}/oauth/client-metadata.json`, { headers: { origin: 'https://as.example' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    const document = (await response.json()) as Record<string, unknown>;
    expect(document['client_id']).toBe('https://gw.example/oauth/client-metadata.json');
    expect(document['redirect_uris']).toEqual(['https://gw.example/oauth/callback']);
    expect(document['token_endpoint_auth_method']).toBe('none');
    expect(Object.keys(document).filter((k) => /secret|jwks/.test(k))).toEqual([]);
  });

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
    const failedHtml = await failed.text();
    expect(failedHtml).toContain('<code>oauth_state_invalid</code>');
    expect(failedHtml).not.toContain('Try again');
  });

  it("a failed token exchange page shows its cause, the provider's error and description (escaped, bidi marked), and a Try again link", async () => {
    const url = await serve(fakeConnections(false));
    const failed = await fetch(`${url}/oauth/callback?code=c&state=exchange-failed`, {
      headers: { cookie: 'gh_connect_abc=v1' },
    });
    expect(failed.status).toBe(502);
    const html = await failed.text();
    expect(html).toContain('<dt>Cause</dt><dd><code>error_response</code>, HTTP 400</dd>');
    expect(html).toContain("<dt>Provider's error</dt><dd><code>invalid_grant</code></dd>");
    expect(html).toContain(
      `<dt>Provider's description</dt><dd>Code &#60;b&#62;expired&#60;/b&#62; <mark class="ctl">U+202E</mark>fdp.exe [REDACTED]</dd>`,
    );
    expect(html).toContain(
      '<a href="http://127.0.0.1:8787/connect/acme.fresh?sig=s&#38;x=1" class="button">Try again</a>',
    );
    expect(html).not.toContain('<b>');
  });

  it("token_exchange_cause_unsaid: a refused code exchange says in plain words what the provider's error most likely means", async () => {
    const url = await serve(fakeConnections(false));
    const client = await fetch(`${url}/oauth/callback?code=c&state=client-refused`, {
      headers: { cookie: 'gh_connect_abc=v1' },
    });
    const html = await client.text();
    expect(html).toContain(
      '<dt>Likely cause</dt><dd>The provider refused the client credentials the gateway sent: the clientSecret (or clientId) of the service is wrong, or the secret was rotated at the provider.</dd>',
    );
    expect(html).toContain('class="button">Try again</a>');
    const grant = await fetch(`${url}/oauth/callback?code=c&state=exchange-failed`, {
      headers: { cookie: 'gh_connect_abc=v1' },
    });
    expect(await grant.text()).toContain(
      '<dt>Likely cause</dt><dd>The provider refused the code: it expired or was used already (Try again), or the redirect URI differs from the one registered for the app.</dd>',
    );
  });

  it('the site chooser lists the sites (names marked), carries a CSRF token, and its post needs it', async () => {
    const url = await serve(fakeConnections(false));
    const page = await fetch(`${url}/oauth/callback?code=c&state=two-sites`, {
      headers: { cookie: 'gh_connect_abc=v1' },
    });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Sec<mark class="ctl">U+202E</mark>ond &#60;i&#62;');
    expect(html).toContain('https://first.atlassian.net');
    // The service and whom it serves as people know them (not the ids), escaped.
    expect(html).toContain('Choose the one Jira &#60;Cloud&#62; (jira) should use for\nuser a&#34;li&#38;ce;');
    expect(html).not.toContain('<script');
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self'");
    const cookies = page.headers.getSetCookie();
    expect(cookies[0]).toBe('gh_connect_abc=v1; Path=/oauth/callback; Max-Age=600; HttpOnly; SameSite=Lax');
    const csrf = /name="csrf" value="([\w-]+)"/.exec(html)?.[1] ?? '';
    expect(cookies[1]).toBe(`gh_site_csrf=${csrf}; Path=/oauth/callback/site; Max-Age=600; HttpOnly; SameSite=Strict`);
    const post = (body: Record<string, string>, cookie: string) =>
      fetch(`${url}/oauth/callback/site`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: url },
        body: new URLSearchParams(body),
      });
    const second = '11111111-2222-4333-8444-000000000002';
    const noCsrf = await post({ state: 'two-sites', site: second }, 'gh_connect_abc=v1');
    expect(noCsrf.status).toBe(403);
    expect(await noCsrf.text()).toContain('<code>forbidden_origin</code>');
    const session = `gh_connect_abc=v1; gh_site_csrf=${csrf}`;
    const forged = await post({ state: 'two-sites', site: 'x', csrf }, session);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('site: not one of the sites');
    const chosen = await post({ state: 'two-sites', site: second, csrf }, session);
    expect(chosen.status).toBe(200);
    expect(await chosen.text()).toContain('Connected jira for alice');
  });
});
