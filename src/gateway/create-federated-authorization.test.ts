import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ServiceConfig } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createLocalMasterKeyProvider, createVault, parseMasterKeys, type Vault } from '../vault/index.ts';
import { createFederatedAuthorization } from './create-federated-authorization.ts';

/**
 * An `mcp:` service's discovered OAuth settings and its registered client, with a real store and vault and a real
 * HTTP server on 127.0.0.1 playing the protected MCP server and its authorization server. Several gateway processes
 * (several instances over one store) end up with one registration, kept encrypted.
 */
let store: Store;
let vault: Vault;
let server: Server;
let origin = '';
let registrations = 0;
/** `client_secret_expires_at` of the next registrations (seconds since the epoch; 0: never). */
let secretExpiresAt = 0;
/** Whether the authorization server advertises Client ID Metadata Documents. */
let documentsSupported = false;

beforeAll(async () => {
  store = await openStore('sqlite::memory:');
  await store.migrate();
  const key = randomBytes(32).toString('hex');
  vault = createVault({
    dataKeys: store.dataKeys,
    masterKeys: createLocalMasterKeyProvider(() => parseMasterKeys(key, 'test'), 'test'),
    clock: { now: () => Date.now(), monotonic: () => performance.now() },
  });
  await store.tenants.ensure('acme', Date.now());
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (status: number, body?: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body ?? {}));
    if (path === '/mcp') return json(401, {}, { 'www-authenticate': `Bearer resource_metadata="${origin}/meta"` });
    if (path === '/meta') {
      return json(200, { resource: `${origin}/mcp`, authorization_servers: [origin], scopes_supported: ['read'] });
    }
    if (path === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: origin,
        authorization_endpoint: `${origin}/auth`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/reg`,
        code_challenge_methods_supported: ['S256'],
        ...(documentsSupported ? { client_id_metadata_document_supported: true } : {}),
      });
    }
    if (path === '/reg') {
      registrations++;
      // Slow enough that two processes starting together both register before either has stored its client.
      setTimeout(
        () =>
          json(201, {
            client_id: `client-${registrations}`,
            client_secret: `secret-${registrations}-0123456789`,
            client_secret_expires_at: secretExpiresAt,
          }),
        50,
      );
      return;
    }
    json(404);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await store.close();
});

function serviceOf(auth: Record<string, unknown>): ServiceConfig {
  const config = parseConfig(
    { tenants: [{ id: 'acme', services: [{ id: 'notes', mcp: `${origin}/mcp`, auth }], toolsets: [] }] },
    { env: {}, baseDir: process.cwd() },
  );
  return config.tenants[0]?.services[0] as ServiceConfig;
}

/** The processes' clock: real time plus `skewMs`. */
let skewMs = 0;
const processOf = () =>
  createFederatedAuthorization({
    store,
    vault,
    clock: { now: () => Date.now() + skewMs },
    publicUrl: 'http://127.0.0.1:8787',
    readConfiguredSecret: async () => 'configured-secret-0123456789',
  });

describe('createFederatedAuthorization', () => {
  it('two processes discovering at once share one registration, stored encrypted; a third registers nothing', async () => {
    const service = serviceOf({ type: 'oauth2' });
    const [one, two] = [processOf(), processOf()];
    const [a, b] = await Promise.all([one.authOf('acme', service), two.authOf('acme', service)]);
    expect(a).toMatchObject({ issuer: origin, resource: `${origin}/mcp`, scopes: ['read'] });
    expect(a?.clientId).toMatch(/^client-\d$/);
    expect(b?.clientId).toBe(a?.clientId);
    const secret = await one.readClientSecret('acme', service);
    expect(secret).toMatch(/^secret-\d-0123456789$/);
    expect(await two.readClientSecret('acme', service)).toBe(secret);
    const stored = await store.secrets.get('acme', 'registration:notes', 'client');
    expect(Buffer.from(stored?.ciphertext ?? []).toString('latin1')).not.toContain(String(secret));

    const before = registrations;
    const third = processOf();
    expect((await third.authOf('acme', service))?.clientId).toBe(a?.clientId);
    expect(registrations).toBe(before);
  });

  it('a registered client whose secret expires is registered again before it is used, once across processes', async () => {
    const service = serviceOf({ type: 'oauth2', scopes: ['read'] });
    await store.secrets.deleteByOwner('acme', 'registration:notes');
    secretExpiresAt = Math.floor(Date.now() / 1000) + 3_600;
    const first = await processOf().authOf('acme', service);
    expect(first?.clientId).toMatch(/^client-\d+$/);
    secretExpiresAt = 0;
    // Two minutes before the secret expires: still used as is.
    skewMs = 3_600_000 - 120_000;
    const before = registrations;
    expect((await processOf().authOf('acme', service))?.clientId).toBe(first?.clientId);
    expect(registrations).toBe(before);
    // Within a minute of its expiry: two processes at once register again and both use the one stored.
    skewMs = 3_600_000 - 30_000;
    const [one, two] = [processOf(), processOf()];
    const [a, b] = await Promise.all([one.authOf('acme', service), two.authOf('acme', service)]);
    expect(a?.clientId).not.toBe(first?.clientId);
    expect(b?.clientId).toBe(a?.clientId);
    const secret = await one.readClientSecret('acme', service);
    expect(secret).toBe(`secret-${String(a?.clientId).slice(7)}-0123456789`);
    expect(await two.readClientSecret('acme', service)).toBe(secret);
    // The new secret does not expire: a third process, later still, registers nothing.
    skewMs = 7_200_000;
    const after = registrations;
    expect((await processOf().authOf('acme', service))?.clientId).toBe(a?.clientId);
    expect(registrations).toBe(after);
    skewMs = 0;
  });

  it('a registered client refused with invalid_client is dropped and registered once more, once across processes', async () => {
    const service = serviceOf({ type: 'oauth2', scopes: ['read'] });
    const [one, two] = [processOf(), processOf()];
    const refused = (await one.authOf('acme', service))?.clientId ?? '';
    expect((await two.authOf('acme', service))?.clientId).toBe(refused);
    const before = registrations;
    // Both processes' refreshes hear invalid_client for the same client at once.
    expect(
      await Promise.all([one.refuseClient('acme', service, refused), two.refuseClient('acme', service, refused)]),
    ).toEqual([true, true]);
    const renewed = (await one.authOf('acme', service))?.clientId;
    expect(renewed).not.toBe(refused);
    expect((await two.authOf('acme', service))?.clientId).toBe(renewed);
    expect(await two.readClientSecret('acme', service)).toBe(`secret-${String(renewed).slice(7)}-0123456789`);
    expect(registrations - before).toBeLessThanOrEqual(2);
    // A late report about the old client registers nothing more: the new one is already there.
    const after = registrations;
    expect(await processOf().refuseClient('acme', service, refused)).toBe(true);
    expect(registrations).toBe(after);
    // The new client refused too, at once: this process does not register again within the minute.
    const latest = String(renewed);
    expect(await one.refuseClient('acme', service, latest)).toBe(false);
    expect(registrations).toBe(after);
    // A configured client is never dropped.
    const configured = serviceOf({ type: 'oauth2', clientId: 'my-app', clientSecret: 'configured-secret-0123456789' });
    expect(await one.refuseClient('acme', configured, 'my-app')).toBe(false);
    expect(registrations).toBe(after);
  });

  it('a configured clientId is used as is (discovery only for the endpoints), with the configured secret', async () => {
    const service = serviceOf({ type: 'oauth2', clientId: 'my-app', clientSecret: 'configured-secret-0123456789' });
    const before = registrations;
    const auth = await processOf().authOf('acme', service);
    expect(auth).toMatchObject({ clientId: 'my-app', issuer: origin, resource: `${origin}/mcp` });
    expect(await processOf().readClientSecret('acme', service)).toBe('configured-secret-0123456789');
    expect(registrations).toBe(before);
  });

  it('a server supporting metadata documents: the document URL is the client, public, stored for every process; nothing registered', async () => {
    const service = serviceOf({ type: 'oauth2' });
    await store.secrets.deleteByOwner('acme', 'registration:notes');
    documentsSupported = true;
    try {
      const before = registrations;
      const [one, two] = [processOf(), processOf()];
      const [a, b] = await Promise.all([one.authOf('acme', service), two.authOf('acme', service)]);
      expect(a).toMatchObject({ clientId: 'http://127.0.0.1:8787/oauth/client-metadata.json', issuer: origin });
      expect(a?.tokenEndpointAuthMethod).toBeUndefined();
      expect(b?.clientId).toBe(a?.clientId);
      expect(await one.readClientSecret('acme', service)).toBeUndefined();
      expect(registrations).toBe(before);
      // The choice is stored: the same client id after a restart.
      expect(await store.secrets.get('acme', 'registration:notes', 'client')).toBeDefined();
      expect((await processOf().authOf('acme', service))?.clientId).toBe(a?.clientId);
      // A configured client id wins over the document.
      const configured = serviceOf({
        type: 'oauth2',
        clientId: 'my-app',
        clientSecret: 'configured-secret-0123456789',
      });
      expect((await one.authOf('acme', configured))?.clientId).toBe('my-app');
      // The server refuses the document (invalid_client): the gateway registers instead, once.
      expect(await one.refuseClient('acme', service, String(a?.clientId))).toBe(true);
      const registered = await two.authOf('acme', service);
      expect(registered?.clientId).toMatch(/^client-\d+$/);
      expect(await two.readClientSecret('acme', service)).toMatch(/^secret-\d+-0123456789$/);
      expect(registrations).toBe(before + 1);
    } finally {
      documentsSupported = false;
    }
  });

  it('clientMetadataDocument: false registers even where the server supports documents, and replaces a stored document', async () => {
    await store.secrets.deleteByOwner('acme', 'registration:notes');
    documentsSupported = true;
    try {
      const document = await processOf().authOf('acme', serviceOf({ type: 'oauth2' }));
      expect(document?.clientId).toBe('http://127.0.0.1:8787/oauth/client-metadata.json');
      const before = registrations;
      const optedOut = serviceOf({ type: 'oauth2', clientMetadataDocument: false });
      const registered = await processOf().authOf('acme', optedOut);
      expect(registered?.clientId).toMatch(/^client-\d+$/);
      expect(registrations).toBe(before + 1);
      expect((await processOf().authOf('acme', optedOut))?.clientId).toBe(registered?.clientId);
    } finally {
      documentsSupported = false;
    }
  });

  it('clientMetadataDocument on a service that does not discover its client is a config error naming the field', () => {
    expect(() => serviceOf({ type: 'oauth2', clientId: 'my-app', clientMetadataDocument: true })).toThrow(
      /auth\.clientMetadataDocument.*applies only to an mcp service without clientId/s,
    );
  });

  it('a client registered before the server supported metadata documents is kept (its grants are bound to it)', async () => {
    const service = serviceOf({ type: 'oauth2' });
    await store.secrets.deleteByOwner('acme', 'registration:notes');
    const registered = (await processOf().authOf('acme', service))?.clientId;
    expect(registered).toMatch(/^client-\d+$/);
    documentsSupported = true;
    try {
      expect((await processOf().authOf('acme', service))?.clientId).toBe(registered);
    } finally {
      documentsSupported = false;
    }
  });

  it('an oauth2 service without issuer or tokenUrl and without clientId is a config error unless it is mcp:', () => {
    expect(() =>
      parseConfig(
        { tenants: [{ id: 'acme', services: [{ id: 'api', openapi: './x.yaml', auth: { type: 'oauth2' } }] }] },
        { env: {}, baseDir: process.cwd() },
      ),
    ).toThrow(/auth\.clientId.*clientId is required/s);
  });
});
