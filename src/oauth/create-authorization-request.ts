import * as oauth from 'oauth4webapi';
import { createId, GatehouseError } from '../core/index.ts';
import { joinScopes, type OAuthProviderSettings, scopeParameterOf } from './provider-quirks.ts';

export interface AuthorizationRequestInput {
  readonly clientId: string;
  /** `{publicUrl}/oauth/callback`, byte for byte the registered one (OA-01). */
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  /** RFC 8707 resource indicator, when configured. */
  readonly resource?: string | undefined;
  /** Provider-specific extras (e.g. `access_type=offline`); may not replace a protocol parameter. */
  readonly extraParams?: Readonly<Record<string, string>>;
  /** Put in front of the random part of `state` (the tenant id, so the callback can find its row). */
  readonly statePrefix: string;
  /** False for a provider that refuses PKCE: no `code_challenge` is sent. Default true. */
  readonly pkce?: boolean | undefined;
  /** Scope separator and quirks of a catalogue provider. */
  readonly provider?: OAuthProviderSettings;
}

export interface AuthorizationRequest {
  readonly url: URL;
  /** `<prefix>.<43 base64url chars>`: 256 random bits from the CSPRNG. */
  readonly state: string;
  /** 43 base64url chars (256 bits from the CSPRNG), sent as its S256 challenge. */
  readonly codeVerifier: string;
}

/** Parameters a provider's `authorizeParams` may not set: they carry the protocol's security. */
export const reservedAuthorizeParams: ReadonlySet<string> = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'scope',
  'user_scope',
  'resource',
  'request',
  'request_uri',
  'response_mode',
]);

/**
 * Builds the authorization URL of the authorization code flow with PKCE S256 (OA-01): fresh verifier and state
 * on every call, so a retry after an error never reuses them.
 */
export async function createAuthorizationRequest(
  as: oauth.AuthorizationServer,
  input: AuthorizationRequestInput,
): Promise<AuthorizationRequest> {
  if (as.authorization_endpoint === undefined) {
    throw new GatehouseError('config_invalid', `Authorization server ${as.issuer} has no authorization endpoint`, {
      field: 'authorizationUrl',
    });
  }
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = `${input.statePrefix}.${createId(32)}`;
  const url = new URL(as.authorization_endpoint);
  for (const [name, value] of Object.entries(input.extraParams ?? {})) {
    if (reservedAuthorizeParams.has(name)) {
      throw new GatehouseError('config_invalid', `authorizeParams may not set the protocol parameter ${name}`, {
        field: 'authorizeParams',
        parameter: name,
      });
    }
    url.searchParams.set(name, value);
  }
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('state', state);
  if (input.pkce !== false) {
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  const settings = input.provider ?? {};
  if (input.scopes.length > 0) url.searchParams.set(scopeParameterOf(settings), joinScopes(input.scopes, settings));
  if (input.resource !== undefined) url.searchParams.set('resource', input.resource);
  return { url, state, codeVerifier };
}
