import * as oauth from 'oauth4webapi';
import { type BearerChallenge, GatehouseError, readBearerChallenge, splitScopes } from '../core/index.ts';
import { createOAuthFetch, isLoopbackUrl, type OAuthFetch } from './create-oauth-fetch.ts';
import { discoveryRequest, reasonOf } from './resolve-authorization-server.ts';

/** What the MCP authorization spec lets a client learn about a protected MCP server before it has a token. */
export interface ResourceAuthorization {
  /** The protected resource's identifier (RFC 9728 `resource`): the RFC 8707 `resource` of every token request. */
  readonly resource: string;
  /** The authorization server's issuer, as the resource names it and the server's metadata confirms byte for byte. */
  readonly issuer: string;
  readonly metadata: oauth.AuthorizationServer;
  /** Scopes to ask for: the 401 challenge's `scope`, else the resource's `scopes_supported`, else none. */
  readonly scopes: readonly string[];
}

/** A client registered at an authorization server (RFC 7591). */
export interface RegisteredClient {
  readonly clientId: string;
  /** Absent for a public client (`token_endpoint_auth_method: none`). */
  readonly clientSecret?: string;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** When the secret expires, ms since the epoch (RFC 7591 `client_secret_expires_at`); absent: never. */
  readonly secretExpiresAt?: number;
}

export interface DiscoveryOptions {
  /** The service id, named in every error. */
  readonly service: string;
  /** Timeout of each request, ms (default 10,000). */
  readonly timeoutMs?: number;
  /** Sends every request (the gateway's SSRF-guarded fetch); default `fetch`. */
  readonly fetch?: OAuthFetch;
}

/**
 * The MCP authorization spec's discovery (2025-06-18 / 2025-11-25) for the MCP server at `serverUrl`: an
 * unauthenticated request whose 401 names the protected resource metadata (`WWW-Authenticate: Bearer
 * resource_metadata=...`, and maybe `scope`), else the RFC 9728 well-known URIs (path-inserted, then the root); then
 * the first authorization server the metadata lists, discovered by RFC 8414 / OpenID Connect discovery with its
 * issuer checked, and refused unless it supports PKCE S256. Every failure is `oauth_discovery_failed` naming the
 * service, the step and a short reason (never a response body).
 */
export async function discoverResourceAuthorization(
  serverUrl: string,
  options: DiscoveryOptions,
): Promise<ResourceAuthorization> {
  const fail = failureOf(options.service);
  requireSecure(serverUrl, 'server', fail);
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const challenge = await probe(serverUrl, send, timeoutMs, fail);
  const metadataUrls =
    challenge.resourceMetadata === undefined ? wellKnownUrlsOf(serverUrl) : [challenge.resourceMetadata];
  const protectedResource = await readProtectedResource(serverUrl, metadataUrls, send, timeoutMs, fail);
  const issuer = protectedResource.authorizationServers[0] as string;
  requireSecure(issuer, 'authorization_server', fail);
  let metadata: oauth.AuthorizationServer;
  try {
    metadata = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await discoveryRequest(new URL(issuer), timeoutMs, send),
    );
  } catch (error) {
    const reason = causeOf(error);
    throw fail(
      'authorization_server',
      reason === 'oauth_json_attribute_comparison_failed' ? 'issuer_mismatch' : reason,
      reason === 'oauth_json_attribute_comparison_failed'
        ? `the metadata of authorization server ${issuer} names another issuer`
        : `the metadata of authorization server ${issuer} could not be read`,
      error,
    );
  }
  if (!(metadata.code_challenge_methods_supported ?? []).includes('S256')) {
    throw fail('authorization_server', 'pkce_unsupported', `authorization server ${issuer} does not offer PKCE S256`);
  }
  const scopes =
    challenge.scope !== undefined ? splitScopes(challenge.scope) : (protectedResource.scopesSupported ?? []);
  return { resource: protectedResource.resource, issuer: metadata.issuer, metadata, scopes };
}

/**
 * Registers the gateway as a client of `metadata`'s server (RFC 7591): code flow with refresh tokens, the one
 * redirect URI, a confidential client (`client_secret_basic`, or `_post` where only that is offered), public only when
 * the server supports neither.
 */
export async function registerClient(
  metadata: oauth.AuthorizationServer,
  redirectUri: string,
  options: DiscoveryOptions,
): Promise<RegisteredClient> {
  const fail = failureOf(options.service);
  const endpoint = metadata.registration_endpoint;
  if (endpoint === undefined) {
    throw fail(
      'registration',
      'registration_unsupported',
      `authorization server ${metadata.issuer} offers no dynamic client registration; configure auth.clientId`,
    );
  }
  const offered = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  const authMethod = offered.includes('client_secret_basic')
    ? 'client_secret_basic'
    : offered.includes('client_secret_post')
      ? 'client_secret_post'
      : 'none';
  try {
    const response = await oauth.dynamicClientRegistrationRequest(
      metadata,
      {
        client_name: 'Gatehouse',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: authMethod,
      },
      createOAuthFetch(endpoint, options.timeoutMs, options.fetch, 'registration endpoint'),
    );
    const client = await oauth.processDynamicClientRegistrationResponse(response);
    const secret = typeof client.client_secret === 'string' ? client.client_secret : undefined;
    // RFC 7591 §3.2.1: seconds since the epoch, 0 for a secret that does not expire.
    const expires = client['client_secret_expires_at'];
    return {
      clientId: client.client_id,
      ...(secret === undefined ? {} : { clientSecret: secret }),
      authMethod: secret === undefined ? 'none' : authMethod,
      ...(secret !== undefined && typeof expires === 'number' && expires > 0
        ? { secretExpiresAt: expires * 1000 }
        : {}),
    };
  } catch (error) {
    if (error instanceof GatehouseError && error.code === 'oauth_discovery_failed') throw error;
    throw fail('registration', causeOf(error), `registration at ${endpoint} failed`, error);
  }
}

type Fail = (step: string, reason: string, what: string, cause?: unknown) => GatehouseError;

function failureOf(service: string): Fail {
  return (step, reason, what, cause) =>
    new GatehouseError(
      'oauth_discovery_failed',
      `Service ${service}: discovering its OAuth authorization failed: ${what} (${reason})`,
      { service, step, reason },
      cause === undefined ? undefined : { cause },
    );
}

/** MCP authorization needs https everywhere; plain http only on loopback (local servers, tests). */
function requireSecure(url: string, step: string, fail: Fail): void {
  const parsed = parseUrl(url);
  if (parsed === null || (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopbackUrl(url)))) {
    throw fail(step, 'insecure_url', `${url} is not https (plain http is allowed on loopback only)`);
  }
}

/** An unauthenticated `initialize`: a protected server answers 401 with its challenge. */
async function probe(serverUrl: string, send: OAuthFetch, timeoutMs: number, fail: Fail): Promise<BearerChallenge> {
  let response: Response;
  try {
    response = await send(serverUrl, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'gatehouse', version: '1' } },
      }),
    });
  } catch (error) {
    throw fail('server', causeOf(error), `${serverUrl} could not be reached`, error);
  }
  await response.body?.cancel().catch(() => {});
  if (response.status !== 401) return {};
  return readBearerChallenge(response.headers.get('www-authenticate')) ?? {};
}

/** RFC 9728 §3.1 for the server's URL: the path-inserted well-known URI first, then the origin's. */
function wellKnownUrlsOf(serverUrl: string): string[] {
  const url = new URL(serverUrl);
  const path = url.pathname.replace(/\/$/, '');
  const root = `${url.origin}/.well-known/oauth-protected-resource`;
  return path === '' ? [root] : [`${root}${path}`, root];
}

interface ProtectedResource {
  readonly resource: string;
  readonly authorizationServers: readonly string[];
  readonly scopesSupported?: readonly string[];
}

async function readProtectedResource(
  serverUrl: string,
  urls: readonly string[],
  send: OAuthFetch,
  timeoutMs: number,
  fail: Fail,
): Promise<ProtectedResource> {
  for (const url of urls) {
    requireSecure(url, 'resource_metadata', fail);
    const request = createOAuthFetch(url, timeoutMs, send, 'protected resource metadata');
    let response: Response;
    try {
      response = await request[oauth.customFetch](url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: request.signal(),
      } as never);
    } catch (error) {
      throw fail('resource_metadata', causeOf(error), `${url} could not be read`, error);
    }
    // A 4xx (404, or the 401 of a server that guards every path) means no metadata there: try the next URI.
    if (response.status >= 400 && response.status < 500) {
      await response.body?.cancel().catch(() => {});
      continue;
    }
    if (response.status !== 200) {
      throw fail('resource_metadata', `status_${response.status}`, `${url} answered ${response.status}`);
    }
    const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    const resource = body?.['resource'];
    const servers = body?.['authorization_servers'];
    const scopes = body?.['scopes_supported'];
    if (
      typeof resource !== 'string' ||
      !Array.isArray(servers) ||
      servers.length === 0 ||
      !servers.every((s) => typeof s === 'string') ||
      (scopes !== undefined && !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string')))
    ) {
      throw fail(
        'resource_metadata',
        'invalid_metadata',
        `${url} is not protected resource metadata with a resource and authorization_servers`,
      );
    }
    if (!resourceCovers(resource, serverUrl)) {
      throw fail('resource_metadata', 'resource_mismatch', `${url} describes resource ${resource}, not ${serverUrl}`);
    }
    return {
      resource,
      authorizationServers: servers as string[],
      ...(scopes === undefined ? {} : { scopesSupported: scopes as string[] }),
    };
  }
  throw fail('resource_metadata', 'not_found', `${serverUrl} publishes no protected resource metadata`);
}

/**
 * Whether a resource identifier names the server at `serverUrl` (RFC 9728 §3.3; as MCP clients check it): the same
 * origin, and a path that is the server's or a parent of it.
 */
function resourceCovers(resource: string, serverUrl: string): boolean {
  const named = parseUrl(resource);
  const server = new URL(serverUrl);
  if (named === null || named.origin !== server.origin) return false;
  const prefix = named.pathname.endsWith('/') ? named.pathname : `${named.pathname}/`;
  const path = server.pathname.endsWith('/') ? server.pathname : `${server.pathname}/`;
  return path.startsWith(prefix);
}

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

/** The short reason of a failure: a gateway error's own (a refused redirect, an oversized answer), else the library's. */
function causeOf(error: unknown): string {
  const reason = error instanceof GatehouseError ? error.details['reason'] : undefined;
  return typeof reason === 'string' ? reason : reasonOf(error);
}
