import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuthorizationServerRequest,
  type ScriptedAuthorizationServer,
  startScriptedAuthorizationServer,
} from '../../test/support/start-scripted-authorization-server.ts';
import { createProviderExpander } from '../catalog/index.ts';
import { type GatehouseError, parseConfig } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createLocalMasterKeyProvider, createVault } from '../vault/index.ts';
import { type CompletedConnection, createConnectFlow } from './create-connect-flow.ts';
import type { OAuthServiceAuth } from './oauth-service.ts';
import { createServiceRefreshSender } from './refresh-service-sender.ts';

/**
 * One test per provider quirk class: the service is expanded from the real catalogue file (or the provider form
 * of the config), its endpoints pointed at a scripted authorization server that answers like the provider, and
 * a whole connect (and where it matters, a refresh) runs through the gateway's OAuth client.
 */

const clientSecret = 'provider-client-secret-0123456789';
const fixture = resolve(import.meta.dirname, '..', 'catalog', 'fixtures', 'petstore.yaml');
const clock = { now: () => 1_800_000_000_000, monotonic: () => 0 };
const masterKey = randomBytes(32);

let as: ScriptedAuthorizationServer;
let store: Store;
beforeAll(async () => {
  as = await startScriptedAuthorizationServer();
  store = await openStore('sqlite::memory:');
  await store.migrate();
});
afterAll(async () => {
  await as?.close();
  await store?.close();
});
beforeEach(() => {
  as.received.length = 0;
});

/** The oauth2 auth of a catalogue provider as the config expands it, with its endpoints on the fake server. */
function authOf(provider: string, extra: Record<string, unknown> = {}): OAuthServiceAuth {
  const config = parseConfig(
    {
      tenants: [
        {
          id: 'acme',
          services: [
            {
              provider,
              id: 'svc',
              clientId: 'gatehouse-client',
              clientSecret,
              openapi: fixture,
              auth: { authorizationUrl: `${as.url}/authorize`, tokenUrl: `${as.url}/token` },
              ...extra,
            },
          ],
        },
      ],
    },
    { expandProvider: createProviderExpander() },
  );
  const auth = config.tenants[0]?.services[0]?.auth;
  if (auth?.type !== 'oauth2' || auth.clientId === undefined) throw new Error('expected oauth2 with a clientId');
  return { ...auth, clientId: auth.clientId };
}

function flowFor(auth: OAuthServiceAuth) {
  const vault = createVault({
    dataKeys: store.dataKeys,
    masterKeys: createLocalMasterKeyProvider(() => [{ version: 1, key: Buffer.from(masterKey) }], 'test'),
    clock,
  });
  return createConnectFlow({
    store,
    sealer: vault,
    clock,
    publicUrl: 'http://127.0.0.1:8787',
    findService: () => auth,
    readClientSecret: async () => clientSecret,
  });
}

/** A browser through the connect link, the provider redirecting back with a code; the connection it made. */
async function connect(auth: OAuthServiceAuth, subject: string) {
  const flow = flowFor(auth);
  const link = await flow.createLink({ tenant: 'acme', service: 'svc', subject });
  const url = new URL(link.authorizeUrl);
  const started = await flow.openLink(
    decodeURIComponent(url.pathname.split('/')[2] ?? ''),
    url.searchParams.get('sig'),
  );
  const authorize = new URL(started.redirectUrl);
  const done = (await flow.completeCallback(
    new URLSearchParams({ code: 'the-code', state: authorize.searchParams.get('state') ?? '' }),
    { [started.cookie.name]: started.cookie.value },
  )) as CompletedConnection;
  const connection = await store.connections.find('acme', 'svc', subject);
  const accessToken = connection === undefined ? undefined : await flow.readAccessToken(connection);
  return { authorize, done, connection, accessToken, tokenRequest: as.tokenRequests().at(-1) };
}

function answer(body: unknown, status = 200) {
  return (_request: AuthorizationServerRequest, res: ServerResponse) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function refreshWith(auth: OAuthServiceAuth) {
  const send = createServiceRefreshSender({ authOf: () => auth, readClientSecret: async () => clientSecret });
  return send({
    tenantId: 'acme',
    connection: { service: 'svc' } as never,
    refreshToken: 'the-refresh-token-0123456789',
    signal: AbortSignal.timeout(5_000),
  });
}

describe('provider quirks against a fake authorization server', () => {
  it('Slack: user scopes go in user_scope joined by commas, the token is taken from authed_user, no PKCE', async () => {
    const auth = authOf('slack', { scopes: ['channels:read', 'chat:write'] });
    as.onToken(
      answer({
        ok: true,
        access_token: 'xoxb-bot-token-not-ours-0123456789',
        token_type: 'bot',
        scope: 'commands',
        authed_user: {
          id: 'U1',
          scope: 'channels:read,chat:write',
          access_token: 'xoxp-user-token-0123456789',
          token_type: 'user',
        },
      }),
    );
    const { authorize, done, accessToken, connection, tokenRequest } = await connect(auth, 'slack-user');
    expect(authorize.searchParams.get('user_scope')).toBe('channels:read,chat:write');
    expect(authorize.searchParams.has('scope')).toBe(false);
    expect(authorize.searchParams.has('code_challenge')).toBe(false);
    expect(tokenRequest?.form.has('code_verifier')).toBe(false);
    // client_secret_post, as Slack documents it
    expect(tokenRequest?.form.get('client_secret')).toBe(clientSecret);
    expect(tokenRequest?.headers.authorization).toBeUndefined();
    expect(accessToken).toBe('xoxp-user-token-0123456789');
    expect(done.scopes).toEqual(['channels:read', 'chat:write']);
    // Slack user tokens do not expire unless rotation is on: no expires_in, no expiry.
    expect(connection?.accessExpiresAt).toBeNull();
  });

  it('Slack: an error sent as HTTP 200 {ok:false} is an OAuth error, a spent refresh token is invalid_grant', async () => {
    const auth = authOf('slack');
    as.onToken(answer({ ok: false, error: 'invalid_code' }));
    const error = (await connect(auth, 'slack-denied').catch((e: unknown) => e)) as GatehouseError;
    expect(error.code).toBe('oauth_token_failed');
    expect(error.details['error']).toBe('invalid_grant');
    as.onToken(answer({ ok: false, error: 'invalid_refresh_token' }));
    expect(await refreshWith(auth)).toEqual({ kind: 'invalid_grant' });
    as.onToken(
      answer({
        ok: true,
        access_token: 'xoxe.xoxp-rotated-0123456789',
        token_type: 'user',
        refresh_token: 'xoxe-1-next',
        expires_in: 43_200,
      }),
    );
    expect(await refreshWith(auth)).toMatchObject({
      kind: 'tokens',
      accessToken: 'xoxe.xoxp-rotated-0123456789',
      expiresInSeconds: 43_200,
    });
  });

  it('Notion-like: client_secret_basic at the token endpoint even when metadata would say post', async () => {
    const auth = { ...authOf('github'), tokenEndpointAuthMethod: 'client_secret_basic' as const };
    as.onToken(answer({ access_token: 'notion-token-0123456789', token_type: 'bearer' }));
    const { tokenRequest } = await connect(auth, 'basic-user');
    // RFC 6749 §2.3.1: id and secret form-encoded, then Basic.
    const basicOf = (header: string | undefined) =>
      Buffer.from((header ?? '').replace(/^Basic /, ''), 'base64')
        .toString('utf8')
        .split(':')
        .map(decodeURIComponent);
    expect(basicOf(tokenRequest?.headers.authorization)).toEqual(['gatehouse-client', clientSecret]);
    expect(tokenRequest?.form.has('client_secret')).toBe(false);
    as.onToken(answer({ access_token: 'notion-token-2-0123456789', token_type: 'bearer' }));
    await refreshWith(auth);
    expect(basicOf(as.tokenRequests().at(-1)?.headers.authorization)).toEqual(['gatehouse-client', clientSecret]);
  });

  it('Google: access_type=offline and prompt=consent on the authorize request, PKCE on', async () => {
    const auth = authOf('google-calendar');
    as.onToken(
      answer({
        access_token: 'ya29.google-token-0123456789',
        refresh_token: '1//google-refresh-0123456789',
        expires_in: 3599,
        token_type: 'Bearer',
        scope: 'https://www.googleapis.com/auth/calendar.events',
      }),
    );
    const { authorize, connection } = await connect(auth, 'google-user');
    expect(authorize.searchParams.get('access_type')).toBe('offline');
    expect(authorize.searchParams.get('prompt')).toBe('consent');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('scope')).toBe('https://www.googleapis.com/auth/calendar.events');
    expect(connection?.accessExpiresAt).toBe(clock.now() + 3_599_000);
  });

  it('Dropbox-like: token_access_type=offline set by the service overrides, merged over the provider data', async () => {
    const auth = authOf('github', {
      auth: {
        authorizationUrl: `${as.url}/authorize`,
        tokenUrl: `${as.url}/token`,
        authorizeParams: { token_access_type: 'offline' },
      },
    });
    as.onToken(answer({ access_token: 'dropbox-token-0123456789', token_type: 'bearer', expires_in: 14_400 }));
    const { authorize } = await connect(auth, 'dropbox-user');
    expect(authorize.searchParams.get('token_access_type')).toBe('offline');
  });

  it('GitHub: a token without expires_in or refresh token never expires; comma-separated granted scopes', async () => {
    const auth = authOf('github', { scopes: ['repo', 'gist'] });
    as.onToken(answer({ access_token: 'gho_github-token-0123456789', token_type: 'bearer', scope: 'repo,gist' }));
    const { authorize, done, connection } = await connect(auth, 'github-user');
    expect(authorize.searchParams.get('scope')).toBe('repo gist');
    expect(done.scopes).toEqual(['repo', 'gist']);
    expect(connection?.accessExpiresAt).toBeNull();
    expect(connection?.refreshToken).toBeNull();
  });

  it('GitHub apps: rotating refresh tokens come back in the refresh answer; a non-rotating answer has none', async () => {
    const auth = authOf('github');
    as.onToken(
      answer({
        access_token: 'ghu_next-0123456789',
        refresh_token: 'ghr_next-0123456789',
        expires_in: 28_800,
        token_type: 'bearer',
        scope: 'public_repo,read:user',
      }),
    );
    expect(await refreshWith(auth)).toEqual({
      kind: 'tokens',
      accessToken: 'ghu_next-0123456789',
      refreshToken: 'ghr_next-0123456789',
      expiresInSeconds: 28_800,
      scope: 'public_repo read:user',
    });
    as.onToken(answer({ access_token: 'google-next-0123456789', token_type: 'Bearer', expires_in: 3599 }));
    expect(await refreshWith(authOf('google-calendar'))).toEqual({
      kind: 'tokens',
      accessToken: 'google-next-0123456789',
      expiresInSeconds: 3599,
    });
  });
});

describe('per-connection base URL variables (issue 11)', () => {
  it('Salesforce: the instance_url of the token response is stored as the connection variable instanceUrl', async () => {
    const auth = authOf('salesforce');
    as.onToken(
      answer({
        access_token: '00Dxx0000001gPL!AR8AQ-salesforce-token',
        refresh_token: '5Aep861-salesforce-refresh',
        token_type: 'Bearer',
        instance_url: 'https://acme.my.salesforce.com',
        id: 'https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS',
        issued_at: '1278448832702',
      }),
    );
    const { connection } = await connect(auth, 'sf-user');
    expect(connection?.variables).toEqual({ instanceUrl: 'https://acme.my.salesforce.com' });
  });

  it.each([
    'https://evil.example.com',
    'https://acme.my.salesforce.com.evil.com',
    'https://127.0.0.1',
    'https://169.254.169.254',
    'https://acme.my.salesforce.com:8443',
    'https://user@acme.my.salesforce.com',
    'https://acme.my.salesforce.com/path',
    'http://acme.my.salesforce.com',
    'https://acme.my.salesforce.com#',
  ])('Salesforce: a forged instance_url (%s) fails the connect and is never stored or echoed', async (forged) => {
    const auth = authOf('salesforce');
    as.onToken(answer({ access_token: 'sf-token-0123456789', token_type: 'Bearer', instance_url: forged }));
    const subject = `sf-forged-${forged.length}-${forged.charCodeAt(10)}`;
    const error = (await connect(auth, subject).catch((e: unknown) => e)) as GatehouseError;
    expect(error.code).toBe('oauth_token_failed');
    expect(error.details['reason']).toBe('invalid_instance_url');
    expect(`${error.message} ${JSON.stringify(error.details)}`).not.toContain(forged);
    expect(await store.connections.find('acme', 'svc', subject)).toBeUndefined();
  });

  it('Salesforce: a refresh that names another instance_url moves the connection; a forged one is malformed', async () => {
    const auth = authOf('salesforce');
    as.onToken(
      answer({
        access_token: 'sf-refreshed-0123456789',
        token_type: 'Bearer',
        instance_url: 'https://acme2.my.salesforce.com',
      }),
    );
    expect(await refreshWith(auth)).toMatchObject({
      kind: 'tokens',
      variables: { instanceUrl: 'https://acme2.my.salesforce.com' },
    });
    as.onToken(answer({ access_token: 'sf-refreshed-0123456789', token_type: 'Bearer' }));
    const plain = await refreshWith(auth);
    expect(plain.kind === 'tokens' && plain.variables).toBe(undefined);
    as.onToken(
      answer({ access_token: 'sf-refreshed-0123456789', token_type: 'Bearer', instance_url: 'https://evil.com' }),
    );
    expect(await refreshWith(auth)).toMatchObject({ kind: 'failed', reason: 'malformed' });
  });

  it('Atlassian: the cloud id comes from accessible-resources, read with the new token, of a site the grant covers', async () => {
    const cloudJira = '11111111-2222-4333-8444-555555555555';
    const seen: { authorization?: string | undefined }[] = [];
    let sites: unknown = [
      { id: '99999999-2222-4333-8444-555555555555', name: 'wiki only', scopes: ['read:confluence-content.all'] },
      { id: cloudJira, name: 'acme', url: 'https://acme.atlassian.net', scopes: ['read:jira-work', 'read:jira-user'] },
    ];
    const resources = createServer((req, res) => {
      seen.push({ authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sites));
    });
    await new Promise<void>((done) => resources.listen(0, '127.0.0.1', done));
    const resourcesUrl = `http://127.0.0.1:${(resources.address() as AddressInfo).port}/oauth/token/accessible-resources`;
    try {
      const auth = {
        ...authOf('jira', { scopes: ['read:jira-work', 'offline_access'] }),
        accessibleResourcesUrl: resourcesUrl,
      };
      as.onToken(
        answer({ access_token: 'atl-token-0123456789', token_type: 'Bearer', scope: 'read:jira-work offline_access' }),
      );
      const { connection } = await connect(auth, 'atl-user');
      expect(connection?.variables).toEqual({ cloudId: cloudJira });
      expect(seen.at(-1)?.authorization).toBe('Bearer atl-token-0123456789');
      // A site id that could change the call's path is never taken; without a valid site the connect fails.
      sites = [{ id: '../../admin', scopes: ['read:jira-work'] }];
      const error = (await connect(auth, 'atl-forged').catch((e: unknown) => e)) as GatehouseError;
      expect(error.code).toBe('oauth_token_failed');
      expect(error.details['reason']).toBe('no_accessible_resource');
      expect(await store.connections.find('acme', 'svc', 'atl-forged')).toBeUndefined();
    } finally {
      await new Promise((done) => resources.close(done));
    }
  });

  it('Atlassian: an account with two Jira sites chooses one; a forged site id is refused and the choice stays open', async () => {
    const first = '11111111-2222-4333-8444-000000000001';
    const second = '11111111-2222-4333-8444-000000000002';
    const resources = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify([
          { id: first, name: 'First', url: 'https://first.atlassian.net', scopes: ['read:jira-work'] },
          { id: second, name: 'Second', url: 'https://second.atlassian.net', scopes: ['read:jira-work'] },
        ]),
      );
    });
    await new Promise<void>((done) => resources.listen(0, '127.0.0.1', done));
    try {
      const auth = {
        ...authOf('jira', { scopes: ['read:jira-work', 'offline_access'] }),
        accessibleResourcesUrl: `http://127.0.0.1:${(resources.address() as AddressInfo).port}/`,
      };
      as.onToken(answer({ access_token: 'atl-two-sites-0123456789', token_type: 'Bearer', scope: 'read:jira-work' }));
      const flow = flowFor(auth);
      const link = new URL(
        (await flow.createLink({ tenant: 'acme', service: 'svc', subject: 'atl-two' })).authorizeUrl,
      );
      const started = await flow.openLink(
        decodeURIComponent(link.pathname.split('/')[2] ?? ''),
        link.searchParams.get('sig'),
      );
      const state = new URL(started.redirectUrl).searchParams.get('state') ?? '';
      const cookies = { [started.cookie.name]: started.cookie.value };
      const params = new URLSearchParams({ code: 'the-code', state });
      const choice = await flow.completeCallback(params, cookies);
      expect('sites' in choice && choice.sites).toEqual([
        { kind: 'site', id: first, name: 'First', url: 'https://first.atlassian.net' },
        { kind: 'site', id: second, name: 'Second', url: 'https://second.atlassian.net' },
      ]);
      // Nothing is connected before the choice; a reload shows the same choice.
      expect(await store.connections.find('acme', 'svc', 'atl-two')).toBeUndefined();
      expect('sites' in (await flow.completeCallback(params, cookies))).toBe(true);
      // Another browser (no session cookie) cannot choose.
      expect(await flow.chooseSite(state, second, {}).catch((e: GatehouseError) => e.code)).toBe('oauth_state_invalid');
      const forged = (await flow
        .chooseSite(state, '99999999-2222-4333-8444-555555555555', cookies)
        .catch((e: unknown) => e)) as GatehouseError;
      expect(forged.code).toBe('invalid_request');
      expect(forged.details['field']).toBe('site');
      expect(forged.message).toBe(
        "site: '99999999-2222-4333-8444-555555555555' is not one of the sites this account can reach (First, Second); go back and choose one of them",
      );
      const done = await flow.chooseSite(state, second, cookies);
      expect(done.site?.name).toBe('Second');
      const connection = await store.connections.find('acme', 'svc', 'atl-two');
      expect(connection?.variables).toEqual({ cloudId: second });
      expect(connection === undefined ? undefined : await flow.readAccessToken(connection)).toBe(
        'atl-two-sites-0123456789',
      );
      // Single use: the choice is gone once made.
      expect(await flow.chooseSite(state, first, cookies).catch((e: GatehouseError) => e.details['reason'])).toBe(
        'no_site_choice',
      );
    } finally {
      await new Promise((done) => resources.close(done));
    }
  });
});
