import * as oauth from 'oauth4webapi';
import { GatehouseError } from '../core/index.ts';
import { createOAuthFetch, type OAuthFetch } from './create-oauth-fetch.ts';
import type { OAuthServiceAuth } from './oauth-service.ts';

/** Authorization server metadata plus whether its issuer identifier is known (configured or discovered). */
export interface ResolvedAuthorizationServer {
  readonly metadata: oauth.AuthorizationServer;
  /** False when neither `issuer` was configured nor discovery ran: `iss` cannot be compared then. */
  readonly issuerKnown: boolean;
}

/**
 * Sends the discovery request of `issuer`: OpenID Connect (`/.well-known/openid-configuration`) first, and on a
 * 404 the RFC 8414 form (`/.well-known/oauth-authorization-server` inserted before the path).
 */
export async function discoveryRequest(issuer: URL, timeoutMs?: number, send?: OAuthFetch): Promise<Response> {
  const options = createOAuthFetch(issuer.href, timeoutMs, send);
  const oidc = await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oidc' });
  if (oidc.status !== 404) return oidc;
  await oidc.body?.cancel();
  return oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' });
}

/**
 * Validates a discovery response (oauth4webapi checks that `issuer` equals the configured one byte for byte) and
 * lays the configured endpoints over it: a configured `authorizationUrl`, `tokenUrl` or `revocationUrl` wins.
 */
export async function processDiscoveryResponse(
  auth: OAuthServiceAuth,
  response: Response,
): Promise<ResolvedAuthorizationServer> {
  const issuer = auth.issuer as string;
  let metadata: oauth.AuthorizationServer;
  try {
    metadata = await oauth.processDiscoveryResponse(new URL(issuer), response);
  } catch (error) {
    throw new GatehouseError(
      'oauth_token_failed',
      `Discovery of the authorization server ${issuer} failed`,
      { issuer, reason: reasonOf(error) },
      { cause: error },
    );
  }
  return { metadata: withConfiguredEndpoints(metadata, auth), issuerKnown: true };
}

/** Metadata from the configured endpoints alone (no `issuer`, so no discovery). */
export function toConfiguredAuthorizationServer(auth: OAuthServiceAuth): ResolvedAuthorizationServer {
  const tokenUrl = auth.tokenUrl;
  if (tokenUrl === undefined) {
    throw new GatehouseError('config_invalid', 'An oauth2 service needs `issuer` or `tokenUrl`', { field: 'tokenUrl' });
  }
  // oauth4webapi needs an issuer string; without a configured one the token endpoint's origin stands in, and
  // `issuerKnown: false` tells the callback check not to compare `iss` against it.
  const metadata: oauth.AuthorizationServer = { issuer: auth.issuer ?? new URL(tokenUrl).origin };
  return { metadata: withConfiguredEndpoints(metadata, auth), issuerKnown: auth.issuer !== undefined };
}

/** Discovery when `issuer` is configured, else the configured endpoints. */
export async function resolveAuthorizationServer(
  auth: OAuthServiceAuth,
  timeoutMs?: number,
  send?: OAuthFetch,
): Promise<ResolvedAuthorizationServer> {
  if (auth.issuer === undefined) return toConfiguredAuthorizationServer(auth);
  let response: Response;
  try {
    response = await discoveryRequest(new URL(auth.issuer), timeoutMs, send);
  } catch (error) {
    if (error instanceof GatehouseError) throw error;
    throw new GatehouseError(
      'oauth_token_failed',
      `Discovery of the authorization server ${auth.issuer} failed`,
      { issuer: auth.issuer, reason: reasonOf(error) },
      { cause: error },
    );
  }
  return processDiscoveryResponse(auth, response);
}

function withConfiguredEndpoints(
  metadata: oauth.AuthorizationServer,
  auth: OAuthServiceAuth,
): oauth.AuthorizationServer {
  return {
    ...metadata,
    ...(auth.authorizationUrl === undefined ? {} : { authorization_endpoint: auth.authorizationUrl }),
    ...(auth.tokenUrl === undefined ? {} : { token_endpoint: auth.tokenUrl }),
    ...(auth.revocationUrl === undefined ? {} : { revocation_endpoint: auth.revocationUrl }),
  };
}

/** A short enum-like word for an oauth4webapi failure (its `code`), never its message (which may echo a body). */
export function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(code)) return code.toLowerCase();
  if ((error as { name?: unknown } | null)?.name === 'TimeoutError') return 'timeout';
  return 'failed';
}
