import * as oauth from 'oauth4webapi';
import { GatehouseError } from '../core/index.ts';
import {
  authorizationCodeRequest,
  isSafeReturnPath,
  type OAuthServiceAuth,
  type ResolvedAuthorizationServer,
  resolveAuthorizationServer,
  validateCallback,
} from '../oauth/index.ts';

/** The `users.sso` block of a tenant (core/config.ts). */
export interface SsoSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly label: string;
}

/** Seals the pending-sign-in cookie (structurally the vault's encrypt/decrypt). */
export interface SsoSealer {
  encrypt(scope: { tenantId: string; owner: string; field: string }, plaintext: string): Promise<Uint8Array>;
  decrypt(scope: { tenantId: string; owner: string; field: string }, blob: Uint8Array): Promise<string>;
}

/** The identity a provider vouched for, from a validated ID token. */
export interface SsoIdentity {
  /** `<issuer> <sub>`: unique and stable per provider account. */
  readonly subject: string;
  /** A sign-in name to propose: `preferred_username`, else `email`, else `sub`. */
  readonly name: string;
  readonly displayName: string;
}

export interface SsoRelyingParty {
  /** The authorization URL and the sealed cookie carrying `state`, `nonce` and the PKCE verifier. */
  start(tenant: string, returnTo: string): Promise<{ redirectUrl: string; cookieValue: string }>;
  /** Validates the callback against the cookie and redeems the code: the identity and where to return. */
  complete(
    tenant: string,
    params: URLSearchParams,
    cookieValue: string | undefined,
  ): Promise<{ identity: SsoIdentity; returnTo: string }>;
}

/** The pending sign-in's cookie lives this long (the time a person has at the provider). */
export const ssoPendingSeconds = 600;
export const ssoCookieName = 'gatehouse_sso';

interface Pending {
  readonly tenant: string;
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly returnTo: string;
  readonly expiresAt: number;
}

/**
 * OpenID Connect single sign-on with Gatehouse as the relying party (issue 16), through oauth4webapi: discovery
 * from the configured issuer (its `issuer` must equal it byte for byte), authorization code with PKCE S256, a
 * `state` bound to the browser (it travels sealed by the vault in an HttpOnly cookie, so every process can check
 * it and another browser cannot use it), RFC 9207 `iss` (the same check as the connect flow), and the ID token
 * validated for `iss`, `aud`, `exp`, `iat` and the `nonce` of this sign-in. The ID token comes straight from the
 * token endpoint over the back channel, so its signature is not checked (OpenID Connect Core §3.1.3.7).
 */
export function createSsoRelyingParty(options: {
  readonly publicUrl: string;
  readonly settingsOf: (tenant: string) => SsoSettings | undefined;
  readonly sealer: SsoSealer;
  readonly now: () => number;
  readonly timeoutMs?: number;
}): SsoRelyingParty {
  const servers = new Map<string, Promise<ResolvedAuthorizationServer>>();
  const scope = (tenant: string) => ({ tenantId: tenant, owner: 'sso', field: 'pending' });
  const redirectUriOf = (tenant: string) => `${options.publicUrl}/signin/${encodeURIComponent(tenant)}/sso/callback`;

  function settings(tenant: string): SsoSettings {
    const found = options.settingsOf(tenant);
    if (found === undefined) throw new GatehouseError('not_found', `Tenant ${tenant} has no single sign-on`);
    return found;
  }

  function serverOf(tenant: string, sso: SsoSettings): Promise<ResolvedAuthorizationServer> {
    let server = servers.get(tenant);
    if (server === undefined) {
      const auth = { type: 'oauth2', issuer: sso.issuer, clientId: sso.clientId } as unknown as OAuthServiceAuth;
      server = resolveAuthorizationServer(auth, options.timeoutMs);
      // A failed discovery is tried again next time, not remembered.
      server.catch(() => servers.delete(tenant));
      servers.set(tenant, server);
    }
    return server;
  }

  function rejected(code: 'oauth_state_invalid' | 'oauth_denied', reason: string, cause?: unknown): GatehouseError {
    return new GatehouseError(code, 'Single sign-on could not be completed; start again', { reason }, { cause });
  }

  return {
    async start(tenant, returnTo) {
      const sso = settings(tenant);
      if (!isSafeReturnPath(returnTo)) throw new GatehouseError('invalid_request', 'return: expected a relative path');
      const { metadata } = await serverOf(tenant, sso);
      if (metadata.authorization_endpoint === undefined) {
        throw new GatehouseError(
          'config_invalid',
          `The identity provider ${sso.issuer} has no authorization endpoint`,
          {
            field: 'users.sso.issuer',
          },
        );
      }
      const pending: Pending = {
        tenant,
        state: oauth.generateRandomState(),
        nonce: oauth.generateRandomNonce(),
        verifier: oauth.generateRandomCodeVerifier(),
        returnTo,
        expiresAt: options.now() + ssoPendingSeconds * 1000,
      };
      const url = new URL(metadata.authorization_endpoint);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', sso.clientId);
      url.searchParams.set('redirect_uri', redirectUriOf(tenant));
      url.searchParams.set('scope', [...new Set(['openid', ...sso.scopes])].join(' '));
      url.searchParams.set('state', pending.state);
      url.searchParams.set('nonce', pending.nonce);
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.verifier));
      url.searchParams.set('code_challenge_method', 'S256');
      const sealed = await options.sealer.encrypt(scope(tenant), JSON.stringify(pending));
      return { redirectUrl: url.href, cookieValue: Buffer.from(sealed).toString('base64url') };
    },

    async complete(tenant, params, cookieValue) {
      const sso = settings(tenant);
      if (cookieValue === undefined || cookieValue === '') throw rejected('oauth_state_invalid', 'no_pending_sign_in');
      let pending: Pending;
      try {
        const text = await options.sealer.decrypt(scope(tenant), Buffer.from(cookieValue, 'base64url'));
        pending = JSON.parse(text) as Pending;
      } catch (error) {
        throw rejected('oauth_state_invalid', 'pending_sign_in_unreadable', error);
      }
      if (pending.tenant !== tenant || pending.expiresAt <= options.now()) {
        throw rejected('oauth_state_invalid', 'pending_sign_in_expired');
      }
      if (params.getAll('state').length !== 1 || params.get('state') !== pending.state) {
        throw rejected('oauth_state_invalid', 'state_mismatch');
      }
      const server = await serverOf(tenant, sso);
      const client: oauth.Client = { client_id: sso.clientId };
      // RFC 9207 `iss` first (oauth_issuer_mismatch), then oauth4webapi's response checks.
      const checked = validateCallback(server, client, params, pending.state);
      const credentials = { clientId: sso.clientId, clientSecret: sso.clientSecret };
      const response = await authorizationCodeRequest(
        server.metadata,
        credentials,
        checked,
        redirectUriOf(tenant),
        pending.verifier,
        options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
      );
      let claims: oauth.IDToken;
      try {
        const result = await oauth.processAuthorizationCodeResponse(server.metadata, client, response, {
          expectedNonce: pending.nonce,
          requireIdToken: true,
        });
        claims = oauth.getValidatedIdTokenClaims(result) as oauth.IDToken;
      } catch (error) {
        if (error instanceof oauth.ResponseBodyError) throw rejected('oauth_denied', 'token_error_response', error);
        const text = error instanceof Error ? error.message : '';
        const reason = /nonce/i.test(text)
          ? 'id_token_nonce'
          : /"iss"|issuer/i.test(text)
            ? 'id_token_issuer'
            : /"aud"|audience/i.test(text)
              ? 'id_token_audience'
              : 'id_token_invalid';
        throw rejected('oauth_state_invalid', reason, error);
      }
      const sub = String(claims.sub);
      const preferred = [claims['preferred_username'], claims['email'], sub].find(
        (v): v is string => typeof v === 'string' && v.length > 0,
      ) as string;
      const display = typeof claims['name'] === 'string' && claims['name'] !== '' ? claims['name'] : preferred;
      return {
        identity: { subject: `${server.metadata.issuer} ${sub}`, name: preferred, displayName: display },
        returnTo: pending.returnTo,
      };
    },
  };
}
