import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ScriptedAuthorizationServer,
  startScriptedAuthorizationServer,
} from '../../test/support/start-scripted-authorization-server.ts';
import { GatehouseError } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createLocalMasterKeyProvider, createVault } from '../vault/index.ts';
import {
  type CompletedConnection,
  type ConnectSecurityEvent,
  connectTtlMs,
  createConnectFlow,
} from './create-connect-flow.ts';
import type { OAuthServiceAuth } from './oauth-service.ts';

const publicUrl = 'http://127.0.0.1:8787';
const clientSecret = 'scripted-client-secret-0123456789';
const masterKey = randomBytes(32);

let as: ScriptedAuthorizationServer;
let store: Store;
let now = 1_800_000_000_000;
const clock = { now: () => now, monotonic: () => now };
const events: ConnectSecurityEvent[] = [];
let auth: OAuthServiceAuth;

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
  as.setMetadata({});
  as.onToken(defaultToken);
  events.length = 0;
  auth = {
    type: 'oauth2',
    issuer: as.url,
    clientId: 'gatehouse',
    clientSecret,
    scopes: ['pets:read', 'pets:write'],
    grant: 'authorization_code',
    authorizeParams: { access_type: 'offline' },
    resource: 'https://pets.example/api',
  };
});

let issued = 0;
function defaultToken(request: { form: URLSearchParams }, res: import('node:http').ServerResponse): void {
  issued++;
  const scope = request.form.get('scope');
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      access_token: `access-${issued}-${randomBytes(12).toString('hex')}`,
      refresh_token: `refresh-${issued}-${randomBytes(12).toString('hex')}`,
      token_type: 'Bearer',
      expires_in: 600,
      ...(scope ? { scope } : {}),
    }),
  );
}

function createFlow() {
  const vault = createVault({
    dataKeys: store.dataKeys,
    masterKeys: createLocalMasterKeyProvider(() => [{ version: 1, key: Buffer.from(masterKey) }], 'test'),
    clock,
  });
  return createConnectFlow({
    store,
    sealer: vault,
    clock,
    publicUrl,
    findService: (tenant, service) => (tenant === 'acme' && service === 'pets' ? auth : undefined),
    readClientSecret: async () => clientSecret,
    refuseClient: async (tenant, service, clientId) => {
      refusedClients.push(`${tenant}/${service}/${clientId}`);
    },
    onSecurityEvent: (event) => {
      events.push(event);
    },
  });
}

let flow: ReturnType<typeof createFlow>;
/** Clients reported to `refuseClient`, as tenant/service/clientId. */
const refusedClients: string[] = [];
beforeEach(() => {
  flow = createFlow();
});

/** A browser opening a connect link: the redirect to the AS and the cookie it now holds. */
async function start(subject = 'alice') {
  const link = await flow.createLink({ tenant: 'acme', service: 'pets', subject });
  const url = new URL(link.authorizeUrl);
  const started = await flow.openLink(
    decodeURIComponent(url.pathname.split('/')[2] ?? ''),
    url.searchParams.get('sig'),
  );
  const authorize = new URL(started.redirectUrl);
  return { link, started, authorize, state: authorize.searchParams.get('state') ?? '' };
}

function callback(state: string | undefined, extra: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams({ code: 'the-code', ...(state === undefined ? {} : { state }), ...extra });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof GatehouseError ? error.code : `other: ${String(error)}`;
  }
  return 'resolved';
}

describe('connect links', () => {
  it('are signed, single use, expire after 10 minutes and carry no secret', async () => {
    const link = await flow.createLink({ tenant: 'acme', service: 'pets', subject: 'alice' });
    expect(link.authorizeUrl).not.toContain(clientSecret);
    const url = new URL(link.authorizeUrl);
    const id = decodeURIComponent(url.pathname.split('/')[2] ?? '');
    const sig = url.searchParams.get('sig');
    const forged = `${sig?.slice(0, -2)}${sig?.endsWith('AA') ? 'BA' : 'AA'}`;
    expect(await codeOf(flow.openLink(id, forged))).toBe('not_found');
    expect(await codeOf(flow.openLink(id, null))).toBe('not_found');
    expect(await codeOf(flow.openLink(id, sig))).toBe('resolved');
    expect(await codeOf(flow.openLink(id, sig))).toBe('not_found');
    const late = await flow.createLink({ tenant: 'acme', service: 'pets', subject: 'alice' });
    const lateUrl = new URL(late.authorizeUrl);
    now += connectTtlMs + 1;
    expect(
      await codeOf(
        flow.openLink(decodeURIComponent(lateUrl.pathname.split('/')[2] ?? ''), lateUrl.searchParams.get('sig')),
      ),
    ).toBe('not_found');
  });

  it('OA-10 returnTo accepts only same-origin relative paths', async () => {
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', '/%2F%2Fevil', '/%5Cevil']) {
      expect(await codeOf(flow.createLink({ tenant: 'acme', service: 'pets', subject: 'alice', returnTo: bad }))).toBe(
        'invalid_request',
      );
    }
    expect(
      await codeOf(flow.createLink({ tenant: 'acme', service: 'pets', subject: 'alice', returnTo: '/dashboard?x=1' })),
    ).toBe('resolved');
  });
});

describe('authorization request', () => {
  it('OA-01 PKCE S256 with a CSPRNG verifier, state >= 128 bits, exact redirect URI, resource and extra params; fresh values each time', async () => {
    const first = await start();
    const second = await start();
    const params = first.authorize.searchParams;
    expect(first.authorize.origin + first.authorize.pathname).toBe(`${as.url}/authorize`);
    expect(params.get('response_type')).toBe('code');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('redirect_uri')).toBe(`${publicUrl}/oauth/callback`);
    expect(params.get('resource')).toBe('https://pets.example/api');
    expect(params.get('access_type')).toBe('offline');
    expect(params.get('scope')).toBe('pets:read pets:write');
    const random = first.state.slice(first.state.indexOf('.') + 1);
    expect(Buffer.from(random, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    expect(second.state).not.toBe(first.state);
    expect(second.authorize.searchParams.get('code_challenge')).not.toBe(params.get('code_challenge'));

    await flow.completeCallback(callback(first.state, { iss: as.url }), {
      [first.started.cookie.name]: first.started.cookie.value,
    });
    const token = as.tokenRequests().at(-1);
    const verifier = token?.form.get('code_verifier') ?? '';
    expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    expect(createHash('sha256').update(verifier).digest('base64url')).toBe(params.get('code_challenge'));
    expect(token?.form.get('redirect_uri')).toBe(`${publicUrl}/oauth/callback`);
    expect(token?.form.get('resource')).toBe('https://pets.example/api');
    // client_secret_basic: id and secret form-encoded (RFC 6749 §2.3.1), then Base64.
    const basic = Buffer.from((token?.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
    expect(basic.split(':').map(decodeURIComponent)).toEqual(['gatehouse', clientSecret]);
  });

  it('refuses authorizeParams that would replace a protocol parameter', async () => {
    auth = { ...auth, authorizeParams: { redirect_uri: 'https://evil.example/cb' } };
    const link = await flow.createLink({ tenant: 'acme', service: 'pets', subject: 'alice' });
    const url = new URL(link.authorizeUrl);
    expect(
      await codeOf(flow.openLink(decodeURIComponent(url.pathname.split('/')[2] ?? ''), url.searchParams.get('sig'))),
    ).toBe('config_invalid');
  });
});

describe('callback state', () => {
  it('OA-02/03 missing, wrong, replayed or expired state: rejected with zero token requests and an audit event', async () => {
    const flowStart = await start();
    const cookies = { [flowStart.started.cookie.name]: flowStart.started.cookie.value };
    const before = as.tokenRequests().length;
    expect(await codeOf(flow.completeCallback(callback(undefined), cookies))).toBe('oauth_state_invalid');
    expect(await codeOf(flow.completeCallback(callback('acme.not-a-state'), cookies))).toBe('oauth_state_invalid');
    expect(
      await codeOf(flow.completeCallback(new URLSearchParams(`code=c&state=${flowStart.state}&state=x`), cookies)),
    ).toBe('oauth_state_invalid');
    expect(as.tokenRequests().length).toBe(before);

    expect(await codeOf(flow.completeCallback(callback(flowStart.state), cookies))).toBe('resolved');
    expect(as.tokenRequests().length).toBe(before + 1);
    expect(await codeOf(flow.completeCallback(callback(flowStart.state), cookies))).toBe('oauth_state_invalid');
    expect(as.tokenRequests().length).toBe(before + 1);

    const expiring = await start();
    now += connectTtlMs + 1;
    expect(
      await codeOf(
        flow.completeCallback(callback(expiring.state), {
          [expiring.started.cookie.name]: expiring.started.cookie.value,
        }),
      ),
    ).toBe('oauth_state_invalid');
    expect(as.tokenRequests().length).toBe(before + 1);
    expect(events.filter((e) => e.event === 'oauth_state_rejected').map((e) => e.detail)).toEqual([
      'replayed_state',
      'expired_state',
    ]);
  });

  it('17.6 (review finding 6) a state matching no pending authorization writes no record (anyone can send one)', async () => {
    for (const tenant of ['acme', 'other']) {
      expect(await codeOf(flow.completeCallback(callback(`${tenant}.${'x'.repeat(43)}`), {}))).toBe(
        'oauth_state_invalid',
      );
    }
    expect(events).toEqual([]);
  });

  it('OA-04 (review finding 8c) a callback without the browser cookie does not burn the state: the real browser then completes', async () => {
    const mine = await start('u8c');
    const cookies = { [mine.started.cookie.name]: mine.started.cookie.value };
    const before = as.tokenRequests().length;
    expect(await codeOf(flow.completeCallback(callback(mine.state), {}))).toBe('oauth_state_invalid');
    expect(await codeOf(flow.completeCallback(callback(mine.state), { [mine.started.cookie.name]: 'wrong' }))).toBe(
      'oauth_state_invalid',
    );
    expect(as.tokenRequests().length).toBe(before);
    expect(events.map((e) => e.detail)).toEqual(['session_mismatch', 'session_mismatch']);
    expect(await codeOf(flow.completeCallback(callback(mine.state), cookies))).toBe('resolved');
    expect(await store.connections.find('acme', 'pets', 'u8c')).toBeDefined();
  });

  it('OA-04 a state completed in another browser session is rejected and no connection is created', async () => {
    const mine = await start('u1');
    const other = await start('u1');
    const before = as.tokenRequests().length;
    // The other session's cookie, and no cookie at all.
    expect(
      await codeOf(
        flow.completeCallback(callback(mine.state), { [other.started.cookie.name]: other.started.cookie.value }),
      ),
    ).toBe('oauth_state_invalid');
    const stolen = await start('u1');
    expect(await codeOf(flow.completeCallback(callback(stolen.state), {}))).toBe('oauth_state_invalid');
    expect(
      await codeOf(
        flow.completeCallback(callback(stolen.state), {
          [stolen.started.cookie.name]: `${stolen.started.cookie.value}x`,
        }),
      ),
    ).toBe('oauth_state_invalid');
    expect(as.tokenRequests().length).toBe(before);
    expect(await store.connections.find('acme', 'pets', 'u1')).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ event: 'oauth_state_rejected', detail: 'session_mismatch', subject: 'u1' });
    expect(events.filter((e) => e.detail === 'session_mismatch')).toHaveLength(3);
  });

  it('an error answer of the authorization server becomes oauth_denied without a token request', async () => {
    const flowStart = await start();
    const before = as.tokenRequests().length;
    expect(
      await codeOf(
        flow.completeCallback(new URLSearchParams({ error: 'access_denied', state: flowStart.state }), {
          [flowStart.started.cookie.name]: flowStart.started.cookie.value,
        }),
      ),
    ).toBe('oauth_denied');
    expect(as.tokenRequests().length).toBe(before);
  });
});

describe('RFC 9207 iss', () => {
  it('OA-05 advertised but missing: rejected before any token request', async () => {
    as.setMetadata({ authorization_response_iss_parameter_supported: true });
    flow = createFlow();
    const flowStart = await start();
    const before = as.tokenRequests().length;
    expect(
      await codeOf(
        flow.completeCallback(callback(flowStart.state), {
          [flowStart.started.cookie.name]: flowStart.started.cookie.value,
        }),
      ),
    ).toBe('oauth_issuer_mismatch');
    expect(as.tokenRequests().length).toBe(before);
    expect(events.at(-1)).toMatchObject({ event: 'oauth_state_rejected', code: 'oauth_issuer_mismatch' });
  });

  it('OA-06 an iss differing by trailing slash, case, :443 or percent-encoding: rejected', async () => {
    as.setMetadata({ authorization_response_iss_parameter_supported: true });
    flow = createFlow();
    const port = new URL(as.url).port;
    const variants = [
      `${as.url}/`,
      as.url.toUpperCase(),
      `HTTP://127.0.0.1:${port}`,
      `http://127.0.0.1:${port}:443`,
      `http://127.0.0.1%3A${port}`,
      `http://%31%32%37.0.0.1:${port}`,
      `${as.url}%2F`,
    ];
    for (const iss of variants) {
      const flowStart = await start();
      const before = as.tokenRequests().length;
      expect(
        await codeOf(
          flow.completeCallback(callback(flowStart.state, { iss }), {
            [flowStart.started.cookie.name]: flowStart.started.cookie.value,
          }),
        ),
      ).toBe('oauth_issuer_mismatch');
      expect(as.tokenRequests().length).toBe(before);
    }
  });

  it('OA-07 absent and not advertised: proceeds; exactly equal: proceeds', async () => {
    const absent = await start();
    expect(
      await codeOf(
        flow.completeCallback(callback(absent.state), { [absent.started.cookie.name]: absent.started.cookie.value }),
      ),
    ).toBe('resolved');
    const exact = await start();
    expect(
      await codeOf(
        flow.completeCallback(callback(exact.state, { iss: as.url }), {
          [exact.started.cookie.name]: exact.started.cookie.value,
        }),
      ),
    ).toBe('resolved');
  });
});

describe('token requests', () => {
  it('OA-12 a redirect from the token endpoint is not followed', async () => {
    const capture = createServer((_req, res) => res.writeHead(200).end('{}'));
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
    let captured = 0;
    capture.on('request', () => captured++);
    const target = `http://127.0.0.1:${(capture.address() as AddressInfo).port}/token`;
    for (const status of [301, 302, 307, 308]) {
      as.onToken((_request, res) => res.writeHead(status, { location: target }).end());
      const flowStart = await start();
      const error = await flow
        .completeCallback(callback(flowStart.state), {
          [flowStart.started.cookie.name]: flowStart.started.cookie.value,
        })
        .catch((e: unknown) => e);
      expect((error as GatehouseError).code).toBe('oauth_token_failed');
      expect((error as GatehouseError).details['reason']).toBe('redirect_refused');
    }
    expect(captured).toBe(0);
    capture.close();
  });

  it('OA-13 a narrower scope in the token response is the stored grant', async () => {
    as.onToken((_request, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ access_token: 'narrow-access-token-0123456789', token_type: 'Bearer', scope: 'pets:read' }),
        ),
    );
    const flowStart = await start('narrow');
    const done = (await flow.completeCallback(callback(flowStart.state), {
      [flowStart.started.cookie.name]: flowStart.started.cookie.value,
    })) as CompletedConnection;
    expect(done.scopes).toEqual(['pets:read']);
    expect((await store.connections.find('acme', 'pets', 'narrow'))?.scopes).toEqual(['pets:read']);
  });

  it('an error body never reaches the error message (only the registered error code)', async () => {
    as.onToken((request, res) =>
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'invalid_grant', error_description: `bad ${request.form.get('code_verifier')}` })),
    );
    const flowStart = await start();
    const error = (await flow
      .completeCallback(callback(flowStart.state), { [flowStart.started.cookie.name]: flowStart.started.cookie.value })
      .catch((e: unknown) => e)) as GatehouseError;
    expect(error.code).toBe('oauth_token_failed');
    expect(error.details['error']).toBe('invalid_grant');
    const verifier = as.tokenRequests().at(-1)?.form.get('code_verifier') ?? 'none';
    expect(JSON.stringify(error)).not.toContain(verifier);
  });

  it('a code exchange answered invalid_client reports the client refused (a registered one is registered again)', async () => {
    const flowStart = await start();
    for (const answer of [
      { status: 401, body: { error: 'invalid_client' }, headers: {} },
      { status: 400, body: { error: 'invalid_grant' }, headers: {} },
    ]) {
      as.onToken((_request, res) =>
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body)),
      );
      refusedClients.length = 0;
      const attempt = answer.body.error === 'invalid_client' ? flowStart : await start();
      const error = (await flow
        .completeCallback(callback(attempt.state), { [attempt.started.cookie.name]: attempt.started.cookie.value })
        .catch((e: unknown) => e)) as GatehouseError;
      expect(error.code).toBe('oauth_token_failed');
      expect(refusedClients).toEqual(answer.body.error === 'invalid_client' ? [`acme/pets/${auth.clientId}`] : []);
    }
  });

  it('client credentials: one token request, reused until it nears expiry, kept encrypted', async () => {
    auth = { ...auth, grant: 'client_credentials', scopes: ['jobs:run'] };
    const before = as.tokenRequests().length;
    const [a, b] = await Promise.all([
      flow.clientCredentialsConnection('acme', 'pets'),
      flow.clientCredentialsConnection('acme', 'pets'),
    ]);
    expect(a.id).toBe(b.id);
    expect(as.tokenRequests().length).toBe(before + 1);
    const request = as.tokenRequests().at(-1);
    expect(request?.form.get('grant_type')).toBe('client_credentials');
    expect(request?.form.get('scope')).toBe('jobs:run');
    const token = await flow.readAccessToken(a);
    expect(token).toMatch(/^access-/);
    expect(Buffer.from(a.accessToken ?? new Uint8Array()).toString('latin1')).not.toContain(token);
    await flow.clientCredentialsConnection('acme', 'pets');
    expect(as.tokenRequests().length).toBe(before + 1);
    now += 600_000;
    await flow.clientCredentialsConnection('acme', 'pets');
    expect(as.tokenRequests().length).toBe(before + 2);
  });

  it('disconnect revokes the refresh token, then the access token, and deletes the connection', async () => {
    const flowStart = await start('leaving');
    const done = (await flow.completeCallback(callback(flowStart.state), {
      [flowStart.started.cookie.name]: flowStart.started.cookie.value,
    })) as CompletedConnection;
    const result = await flow.disconnect('acme', done.connectionId, 'operator');
    expect(result.revoked).toBe(true);
    const revocations = as.received.filter((r) => r.path === '/revoke');
    expect(revocations.slice(-2).map((r) => r.form.get('token_type_hint'))).toEqual(['refresh_token', 'access_token']);
    expect(await store.connections.get('acme', done.connectionId)).toBeUndefined();
    expect(await codeOf(flow.disconnect('acme', done.connectionId, 'operator'))).toBe('not_found');
  });
});

describe('a failed token exchange (issue 11)', () => {
  it("keeps the provider's error description, scrubbed and cut; a reload says it did not complete, not 'already completed'; the same browser gets a fresh link", async () => {
    as.onToken((request, res) =>
      res.writeHead(400, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: 'invalid_grant',
          // A provider that echoes what it was sent (here the client secret went in Basic auth).
          error_description: `The code ${request.form.get('code')} was already used; secret ${clientSecret} verifier ${request.form.get('code_verifier')} ${'x'.repeat(400)}`,
        }),
      ),
    );
    const flowStart = await start('failing');
    const cookies = { [flowStart.started.cookie.name]: flowStart.started.cookie.value };
    const params = callback(flowStart.state, { code: 'the-code-0123456789' });
    const error = (await flow.completeCallback(params, cookies).catch((e: unknown) => e)) as GatehouseError;
    expect(error.code).toBe('oauth_token_failed');
    expect(error.details['error']).toBe('invalid_grant');
    const description = String(error.details['description']);
    expect(
      description.startsWith('The code [REDACTED] was already used; secret [REDACTED] verifier [REDACTED] x'),
    ).toBe(true);
    expect(description.length).toBe(300);
    const verifier = as.tokenRequests().at(-1)?.form.get('code_verifier') ?? 'none';
    for (const secret of ['the-code-0123456789', clientSecret, verifier])
      expect(JSON.stringify(error)).not.toContain(secret);

    const reloaded = (await flow.completeCallback(params, cookies).catch((e: unknown) => e)) as GatehouseError;
    expect(reloaded.code).toBe('oauth_state_invalid');
    expect(reloaded.message).toBe(
      'This authorization did not complete (oauth_token_failed: invalid_grant); start again from a new connect link',
    );
    expect(reloaded.message).not.toContain('already completed');

    const retry = await flow.retryLink(params, cookies);
    expect(retry).toMatch(new RegExp(`^${publicUrl}/connect/acme\\.[^?]+\\?sig=[\\w-]{43}$`));
    expect(retry).not.toContain(flowStart.link.id);
    // Only the browser that started it, and only for a callback that did not complete.
    expect(await flow.retryLink(params, {})).toBeUndefined();
    as.onToken(defaultToken);
    const fine = await start('fine');
    const fineCookies = { [fine.started.cookie.name]: fine.started.cookie.value };
    await flow.completeCallback(callback(fine.state), fineCookies);
    expect(await flow.retryLink(callback(fine.state), fineCookies)).toBeUndefined();
    // The fresh link works: it connects the same subject.
    const url = new URL(retry as string);
    const again = await flow.openLink(
      decodeURIComponent(url.pathname.split('/')[2] ?? ''),
      url.searchParams.get('sig'),
    );
    const state = new URL(again.redirectUrl).searchParams.get('state') ?? '';
    const done = (await flow.completeCallback(callback(state), {
      [again.cookie.name]: again.cookie.value,
    })) as CompletedConnection;
    expect(done.subject).toBe('failing');
  });

  it('an expired authorization also gets a fresh link for its own browser, a completed one none', async () => {
    const late = await start('late');
    const cookies = { [late.started.cookie.name]: late.started.cookie.value };
    now += connectTtlMs + 1;
    expect(await codeOf(flow.completeCallback(callback(late.state), cookies))).toBe('oauth_state_invalid');
    expect(await flow.retryLink(callback(late.state), cookies)).toMatch(/\/connect\/acme\./);
    expect(await flow.retryLink(callback(late.state), {})).toBeUndefined();
    expect(await flow.retryLink(callback('acme.unknown-state'), cookies)).toBeUndefined();
  });

  it("a provider's refusal at the authorization step (error=access_denied) keeps its description too", async () => {
    const flowStart = await start('denier');
    const error = (await flow
      .completeCallback(
        new URLSearchParams({ error: 'access_denied', error_description: 'The user said no', state: flowStart.state }),
        { [flowStart.started.cookie.name]: flowStart.started.cookie.value },
      )
      .catch((e: unknown) => e)) as GatehouseError;
    expect(error.code).toBe('oauth_denied');
    expect(error.details).toMatchObject({ reason: 'access_denied', description: 'The user said no' });
  });
});

afterEach(() => {
  now += 1;
});
