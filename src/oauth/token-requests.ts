import * as oauth from 'oauth4webapi';
import type { Clock } from '../core/index.ts';
import { GatehouseError } from '../core/index.ts';
import { createOAuthFetch, type OAuthFetch } from './create-oauth-fetch.ts';
import type { TokenSet } from './oauth-service.ts';
import {
  normalizeTokenResponse,
  type OAuthProviderSettings,
  readTokenVariables,
  splitGrantedScope,
} from './provider-quirks.ts';
import { reasonOf } from './resolve-authorization-server.ts';

/** The gateway as a client of one authorization server. */
export interface OAuthClientCredentials {
  readonly clientId: string;
  /** From the vault; undefined for a public client (PKCE only). */
  readonly clientSecret: string | undefined;
  /** The configured token endpoint authentication; absent = as `selectClientAuth` decides from the metadata. */
  readonly authMethod?: 'client_secret_basic' | 'client_secret_post' | undefined;
  /** Scope separator and quirks of a catalogue provider. */
  readonly provider?: OAuthProviderSettings | undefined;
}

/**
 * The client authentication to use: none without a secret; else the configured `method` (a catalogue provider's
 * `tokenEndpointAuthMethod`); else `client_secret_basic` unless the server lists only `client_secret_post` among
 * its supported methods.
 */
export function selectClientAuth(
  as: oauth.AuthorizationServer,
  secret: string | undefined,
  method?: 'client_secret_basic' | 'client_secret_post',
): oauth.ClientAuth {
  if (secret === undefined) return oauth.None();
  if (method === 'client_secret_post') return oauth.ClientSecretPost(secret);
  if (method === 'client_secret_basic') return oauth.ClientSecretBasic(secret);
  const methods = as.token_endpoint_auth_methods_supported;
  if (methods !== undefined && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')) {
    return oauth.ClientSecretPost(secret);
  }
  return oauth.ClientSecretBasic(secret);
}

function tokenEndpointOf(as: oauth.AuthorizationServer): string {
  if (as.token_endpoint === undefined) {
    throw new GatehouseError('config_invalid', `Authorization server ${as.issuer} has no token endpoint`, {
      field: 'tokenUrl',
    });
  }
  return as.token_endpoint;
}

/** Sends the authorization code grant request (RFC 6749 §4.1.3 with the PKCE verifier). */
export function authorizationCodeRequest(
  as: oauth.AuthorizationServer,
  client: OAuthClientCredentials,
  callbackParams: URLSearchParams,
  redirectUri: string,
  codeVerifier: string,
  options: {
    readonly resource?: string | undefined;
    readonly timeoutMs?: number;
    readonly pkce?: boolean;
    readonly fetch?: OAuthFetch;
  } = {},
): Promise<Response> {
  return guard(() =>
    oauth.authorizationCodeGrantRequest(
      as,
      { client_id: client.clientId },
      selectClientAuth(as, client.clientSecret, client.authMethod),
      callbackParams,
      redirectUri,
      options.pkce === false ? oauth.nopkce : codeVerifier,
      {
        ...createOAuthFetch(tokenEndpointOf(as), options.timeoutMs, options.fetch),
        ...(options.resource === undefined ? {} : { additionalParameters: { resource: options.resource } }),
      },
    ),
  );
}

/** Validates an authorization code grant response into a `TokenSet` (`expires_in` counted from `clock`). */
export async function processAuthorizationCodeResponse(
  as: oauth.AuthorizationServer,
  client: OAuthClientCredentials,
  response: Response,
  clock: Clock,
): Promise<TokenSet> {
  const settings = client.provider ?? {};
  const normalized = await normalizeTokenResponse(response, settings, 'authorization_code');
  return toTokenSet(
    await guard(() =>
      oauth.processAuthorizationCodeResponse(as, { client_id: client.clientId }, normalized, {
        requireIdToken: false,
      }),
    ),
    clock,
    settings,
  );
}

/** Sends a client credentials grant request (RFC 6749 §4.4). */
export function clientCredentialsRequest(
  as: oauth.AuthorizationServer,
  client: OAuthClientCredentials,
  scopes: readonly string[],
  options: { readonly resource?: string | undefined; readonly timeoutMs?: number; readonly fetch?: OAuthFetch } = {},
): Promise<Response> {
  const params = new URLSearchParams();
  if (scopes.length > 0) params.set('scope', scopes.join(' '));
  if (options.resource !== undefined) params.set('resource', options.resource);
  return guard(() =>
    oauth.clientCredentialsGrantRequest(
      as,
      { client_id: client.clientId },
      selectClientAuth(as, client.clientSecret, client.authMethod),
      params,
      createOAuthFetch(tokenEndpointOf(as), options.timeoutMs, options.fetch),
    ),
  );
}

export async function processClientCredentialsResponse(
  as: oauth.AuthorizationServer,
  client: OAuthClientCredentials,
  response: Response,
  clock: Clock,
): Promise<TokenSet> {
  const settings = client.provider ?? {};
  const normalized = await normalizeTokenResponse(response, settings);
  return toTokenSet(
    await guard(() => oauth.processClientCredentialsResponse(as, { client_id: client.clientId }, normalized)),
    clock,
    settings,
  );
}

/** Sends an RFC 7009 revocation request; undefined when the server has no revocation endpoint. */
export async function revocationRequest(
  as: oauth.AuthorizationServer,
  client: OAuthClientCredentials,
  token: string,
  tokenTypeHint: 'access_token' | 'refresh_token',
  options: { readonly timeoutMs?: number; readonly fetch?: OAuthFetch } = {},
): Promise<Response | undefined> {
  const endpoint = as.revocation_endpoint;
  if (endpoint === undefined) return undefined;
  return guard(() =>
    oauth.revocationRequest(
      as,
      { client_id: client.clientId },
      selectClientAuth(as, client.clientSecret, client.authMethod),
      token,
      {
        ...createOAuthFetch(endpoint, options.timeoutMs, options.fetch),
        additionalParameters: { token_type_hint: tokenTypeHint },
      },
    ),
  );
}

export async function processRevocationResponse(response: Response): Promise<void> {
  await guard(() => oauth.processRevocationResponse(response));
}

/** The longest lifetime taken from an `expires_in` (ten years): a larger one (1e308) would make the expiry infinite. */
export const maxExpiresInSeconds = 10 * 365 * 24 * 3600;

/**
 * Maps a token endpoint response; `scope` split on spaces, or as a catalogue provider writes it (OA-13: the stored
 * grant is what the server says). No `expires_in`: the token has no known expiry (`accessExpiresAt: null`); one above
 * ten years counts as ten years.
 */
export function toTokenSet(
  response: oauth.TokenEndpointResponse,
  clock: Clock,
  settings: OAuthProviderSettings = {},
): TokenSet {
  const scope = typeof response.scope === 'string' ? splitGrantedScope(response.scope, settings) : undefined;
  const variables = readTokenVariables(response, settings, true);
  return {
    ...(variables === undefined ? {} : { variables }),
    accessToken: response.access_token,
    ...(typeof response.refresh_token === 'string' ? { refreshToken: response.refresh_token } : {}),
    accessExpiresAt:
      typeof response.expires_in === 'number'
        ? clock.now() + Math.min(response.expires_in, maxExpiresInSeconds) * 1000
        : null,
    ...(scope === undefined ? {} : { scopes: scope }),
  };
}

/**
 * Runs an oauth4webapi call and turns its failures into `oauth_token_failed`: `details.error` is the server's
 * OAuth error code (`invalid_grant` ...) when it sent one, `details.reason` a short word, `details.validation`
 * oauth4webapi's reason for refusing a response; never the server's message or a body, which may echo the request
 * (a code, a secret).
 */
/**
 * Why oauth4webapi found a token response invalid (`"response" body "token_type" property must be a string`): its
 * messages name fields, never values, so this carries no token or code.
 */
function validationOf(error: unknown): string | undefined {
  if (!(error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError)) {
    return undefined;
  }
  return error.message.replace(/[^\w "`.,:()-]/g, '').slice(0, 200);
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof GatehouseError) throw error;
    if (error instanceof oauth.ResponseBodyError) {
      const code = /^[a-z_]{1,64}$/.test(error.error) ? error.error : 'invalid';
      throw new GatehouseError(
        'oauth_token_failed',
        `The authorization server refused the token request (${code})`,
        { error: code, status: error.status, reason: 'error_response' },
        { cause: error },
      );
    }
    const status = (error as { cause?: { status?: unknown } }).cause?.status;
    const validation = validationOf(error);
    throw new GatehouseError(
      'oauth_token_failed',
      'The token request to the authorization server failed',
      {
        reason: reasonOf(error),
        ...(typeof status === 'number' ? { status } : {}),
        ...(validation === undefined ? {} : { validation }),
      },
      { cause: error },
    );
  }
}
