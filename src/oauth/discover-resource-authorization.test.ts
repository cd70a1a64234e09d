import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { discoverResourceAuthorization, registerClient } from './discover-resource-authorization.ts';

/**
 * Discovery of a protected MCP server's authorization (MCP authorization spec) against real HTTP servers on
 * 127.0.0.1: what it learns, and that every failure is `oauth_discovery_failed` naming the service and the reason.
 */
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

type Route = (path: string, origin: string) => { status: number; headers?: Record<string, string>; body?: unknown };

async function serve(route: Route): Promise<string> {
  let origin = '';
  const server = createServer((req, res) => {
    const answer = route(new URL(req.url ?? '/', origin).pathname, origin);
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return origin;
}

/** An authorization server whose metadata says `issuer` (its own origin unless `claims` is given). */
function authorizationServer(claims?: string, extra: Record<string, unknown> = {}): Route {
  return (path, origin) =>
    path === '/.well-known/openid-configuration' || path === '/.well-known/oauth-authorization-server'
      ? {
          status: 200,
          body: {
            issuer: claims ?? origin,
            authorization_endpoint: `${origin}/auth`,
            token_endpoint: `${origin}/token`,
            registration_endpoint: `${origin}/reg`,
            code_challenge_methods_supported: ['S256'],
            ...extra,
          },
        }
      : path === '/reg'
        ? {
            status: 201,
            body: {
              client_id: 'registered-client',
              client_secret: 'registered-secret-0123456789',
              client_secret_expires_at: 0,
            },
          }
        : { status: 404 };
}

/** An MCP server answering 401 (with `challenge`) and the protected resource metadata at `metadataPath`. */
function mcpServer(issuer: string, challenge: (origin: string) => string, metadataPath?: string): Route {
  return (path, origin) => {
    if (path === metadataPath) {
      return {
        status: 200,
        body: { resource: `${origin}/mcp`, authorization_servers: [issuer], scopes_supported: ['a', 'b'] },
      };
    }
    if (path === '/mcp') return { status: 401, headers: { 'www-authenticate': challenge(origin) } };
    return { status: 404 };
  };
}

async function failureOf(work: Promise<unknown>): Promise<GatehouseError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  return error as GatehouseError;
}

describe('discoverResourceAuthorization', () => {
  it('follows the 401 challenge to the resource metadata and the issuer, with the challenge scope', async () => {
    const issuer = await serve(authorizationServer());
    const server = await serve(
      mcpServer(issuer, (origin) => `Bearer resource_metadata="${origin}/meta", scope="a"`, '/meta'),
    );
    const found = await discoverResourceAuthorization(`${server}/mcp`, { service: 'notes' });
    expect(found).toMatchObject({ resource: `${server}/mcp`, issuer, scopes: ['a'] });
    expect(found.metadata.token_endpoint).toBe(`${issuer}/token`);
  });

  it('without resource_metadata in the challenge, reads the path-inserted well-known URI (scopes_supported)', async () => {
    const issuer = await serve(authorizationServer());
    const server = await serve(mcpServer(issuer, () => 'Bearer', '/.well-known/oauth-protected-resource/mcp'));
    const found = await discoverResourceAuthorization(`${server}/mcp`, { service: 'notes' });
    expect(found).toMatchObject({ resource: `${server}/mcp`, issuer, scopes: ['a', 'b'] });
  });

  it('no metadata anywhere: an error naming the service', async () => {
    const server = await serve(mcpServer('http://127.0.0.1:1', () => 'Bearer'));
    const error = await failureOf(discoverResourceAuthorization(`${server}/mcp`, { service: 'notes' }));
    expect(error.code).toBe('oauth_discovery_failed');
    expect(error.message).toMatch(/^Service notes: .*publishes no protected resource metadata/);
    expect(error.details).toMatchObject({ service: 'notes', step: 'resource_metadata', reason: 'not_found' });
  });

  it('an authorization server whose metadata names another issuer: issuer_mismatch naming the service', async () => {
    const issuer = await serve(authorizationServer('https://someone-else.example'));
    const server = await serve(mcpServer(issuer, (o) => `Bearer resource_metadata="${o}/meta"`, '/meta'));
    const error = await failureOf(discoverResourceAuthorization(`${server}/mcp`, { service: 'notes' }));
    expect(error.message).toContain('Service notes:');
    expect(error.details).toMatchObject({ step: 'authorization_server', reason: 'issuer_mismatch' });
  });

  it('plain http on a non-loopback host is refused before any request', async () => {
    let sent = 0;
    const error = await failureOf(
      discoverResourceAuthorization('http://mcp.example.com/mcp', {
        service: 'remote',
        fetch: async () => {
          sent++;
          return new Response(null, { status: 401 });
        },
      }),
    );
    expect(sent).toBe(0);
    expect(error.message).toContain('Service remote:');
    expect(error.details).toMatchObject({ step: 'server', reason: 'insecure_url' });
  });

  it('resource metadata naming an authorization server on plain http elsewhere is refused', async () => {
    const server = await serve(
      mcpServer('http://as.example.com', (o) => `Bearer resource_metadata="${o}/meta"`, '/meta'),
    );
    const error = await failureOf(discoverResourceAuthorization(`${server}/mcp`, { service: 'notes' }));
    expect(error.details).toMatchObject({ step: 'authorization_server', reason: 'insecure_url' });
  });

  it('metadata describing another resource is refused (resource_mismatch)', async () => {
    const issuer = await serve(authorizationServer());
    const server = await serve((path, origin) =>
      path === '/meta'
        ? { status: 200, body: { resource: `${origin}/other`, authorization_servers: [issuer] } }
        : { status: 401, headers: { 'www-authenticate': `Bearer resource_metadata="${origin}/meta"` } },
    );
    const error = await failureOf(discoverResourceAuthorization(`${server}/mcp`, { service: 'notes' }));
    expect(error.details).toMatchObject({ step: 'resource_metadata', reason: 'resource_mismatch' });
  });

  it('an authorization server without PKCE S256 is refused', async () => {
    const issuer = await serve(authorizationServer(undefined, { code_challenge_methods_supported: ['plain'] }));
    const server = await serve(mcpServer(issuer, (o) => `Bearer resource_metadata="${o}/meta"`, '/meta'));
    const error = await failureOf(discoverResourceAuthorization(`${server}/mcp`, { service: 'notes' }));
    expect(error.details).toMatchObject({ reason: 'pkce_unsupported' });
  });
});

describe('registerClient', () => {
  it('registers a confidential client and names the service when the server offers no registration', async () => {
    const issuer = await serve(authorizationServer());
    const found = await discoverResourceAuthorization(
      `${await serve(mcpServer(issuer, (o) => `Bearer resource_metadata="${o}/meta"`, '/meta'))}/mcp`,
      { service: 'notes' },
    );
    const client = await registerClient(found.metadata, 'http://127.0.0.1:8787/oauth/callback', { service: 'notes' });
    expect(client).toEqual({
      clientId: 'registered-client',
      clientSecret: 'registered-secret-0123456789',
      authMethod: 'client_secret_basic',
    });
    const { registration_endpoint: _none, ...withoutRegistration } = found.metadata;
    const error = await failureOf(registerClient(withoutRegistration, 'http://x/cb', { service: 'notes' }));
    expect(error.message).toContain('Service notes:');
    expect(error.message).toContain('configure auth.clientId');
  });
});
