import * as oauth from 'oauth4webapi';
import type { ConnectionRecord } from '../store/index.ts';
import type { OAuthFetch } from './create-oauth-fetch.ts';
import {
  normalizeTokenResponse,
  type OAuthProviderSettings,
  readTokenVariables,
  splitGrantedScope,
} from './provider-quirks.ts';
import { readBoundedResponse } from './read-bounded-response.ts';
import { maxExpiresInSeconds } from './token-requests.ts';

/** Why a refresh failed without saying anything about the refresh token itself (the credential is kept). */
export type RefreshFailureReason =
  | 'server_error'
  | 'rate_limited'
  | 'timeout'
  | 'network'
  | 'malformed'
  | 'invalid_client'
  | 'rejected';

/**
 * What one refresh-token redemption gave. `invalid_grant` is kept apart: only it can mean that the refresh token
 * is gone (or that a sibling rotated it first), and the engine decides which by re-reading the store.
 */
export type RefreshOutcome =
  | {
      readonly kind: 'tokens';
      readonly accessToken: string;
      /** Absent when the server did not rotate the refresh token (OA-14). */
      readonly refreshToken?: string;
      readonly expiresInSeconds?: number;
      /** The granted scope string of the response, when it has one. */
      readonly scope?: string;
      /** Connection variables the answer brought (a new Salesforce `instance_url`), checked by their rule. */
      readonly variables?: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'invalid_grant' }
  | {
      readonly kind: 'failed';
      readonly reason: RefreshFailureReason;
      readonly status?: number;
      /** From a 429's or 503's Retry-After. */
      readonly retryAfterMs?: number;
    };

export interface RefreshRequest {
  readonly tenantId: string;
  readonly connection: ConnectionRecord;
  readonly refreshToken: string;
  /** Aborted at the request timeout, which is shorter than the lock's lease. */
  readonly signal: AbortSignal;
}

/** Sends one refresh-token grant. Never throws: every failure is an outcome. */
export type SendRefresh = (request: RefreshRequest) => Promise<RefreshOutcome>;

/** The OAuth client of one service, as the token endpoint sees it. */
export interface RefreshClientSettings {
  readonly tokenUrl: string;
  /** The authorization server's issuer; defaults to the token URL's origin. */
  readonly issuer?: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  /** Default `client_secret_basic` with a secret, `none` without. */
  readonly authMethod?: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** RFC 8707 resource indicator, sent where the server supports it. */
  readonly resource?: string;
  /** Allows an `http:` token URL. Only for tests and local development. */
  readonly unsafeAllowHttp?: boolean;
  /** Scope separator and quirks of a catalogue provider. */
  readonly provider?: OAuthProviderSettings;
  /** Sends the request (the SSRF-guarded fetch in the gateway); default `fetch`. */
  readonly fetch?: OAuthFetch;
}

/**
 * Redeems a refresh token with oauth4webapi (`refreshTokenGrantRequest` + `processRefreshTokenResponse`;
 * redirects are never followed) and classifies the answer: tokens, `invalid_grant`, or a failure that keeps the
 * credential (5xx, 429, timeouts, network errors, malformed answers, `invalid_client` and other OAuth errors).
 */
export async function sendRefreshRequest(
  settings: RefreshClientSettings,
  refreshToken: string,
  signal: AbortSignal,
): Promise<RefreshOutcome> {
  const as: oauth.AuthorizationServer = {
    issuer: settings.issuer ?? new URL(settings.tokenUrl).origin,
    token_endpoint: settings.tokenUrl,
  };
  const client: oauth.Client = { client_id: settings.clientId };
  const method = settings.authMethod ?? (settings.clientSecret === undefined ? 'none' : 'client_secret_basic');
  const clientAuth =
    method === 'none'
      ? oauth.None()
      : method === 'client_secret_post'
        ? oauth.ClientSecretPost(settings.clientSecret ?? '')
        : oauth.ClientSecretBasic(settings.clientSecret ?? '');
  let response: Response;
  try {
    response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, {
      signal,
      ...(settings.resource === undefined ? {} : { additionalParameters: { resource: settings.resource } }),
      [oauth.allowInsecureRequests]: settings.unsafeAllowHttp === true,
      ...(settings.fetch === undefined ? {} : { [oauth.customFetch]: settings.fetch }),
    });
  } catch (error) {
    return { kind: 'failed', reason: isTimeout(error, signal) ? 'timeout' : 'network' };
  }
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel().catch(() => undefined);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    return {
      kind: 'failed',
      reason: response.status === 429 ? 'rate_limited' : 'server_error',
      status: response.status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  try {
    // Bounded before oauth4webapi parses it: an oversized answer is a malformed one (the credential is kept).
    response = await readBoundedResponse(response, 'token endpoint');
  } catch (error) {
    if (isTimeout(error, signal)) return { kind: 'failed', reason: 'timeout' };
    return { kind: 'failed', reason: 'malformed', status: response.status };
  }
  try {
    const quirks = settings.provider ?? {};
    const result = await oauth.processRefreshTokenResponse(as, client, await normalizeTokenResponse(response, quirks));
    // A forged instance_url makes the whole answer malformed: the stored credential and variables are kept.
    const variables = readTokenVariables(result, quirks, false);
    return {
      ...(variables === undefined ? {} : { variables }),
      kind: 'tokens',
      accessToken: result.access_token,
      ...(result.refresh_token === undefined ? {} : { refreshToken: result.refresh_token }),
      ...(result.expires_in === undefined
        ? {}
        : { expiresInSeconds: Math.min(result.expires_in, maxExpiresInSeconds) }),
      // The engine splits the stored grant on spaces; a provider's own separator is undone here.
      ...(result.scope === undefined ? {} : { scope: splitGrantedScope(result.scope, quirks).join(' ') }),
    };
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) {
      if (error.error === 'invalid_grant') return { kind: 'invalid_grant' };
      return {
        kind: 'failed',
        reason: error.error === 'invalid_client' ? 'invalid_client' : 'rejected',
        status: error.status,
      };
    }
    if (error instanceof oauth.WWWAuthenticateChallengeError) {
      return { kind: 'failed', reason: 'invalid_client', status: error.status };
    }
    if (isTimeout(error, signal)) return { kind: 'failed', reason: 'timeout' };
    return { kind: 'failed', reason: 'malformed', status: response.status };
  }
}

/** A `SendRefresh` over `sendRefreshRequest`, with the OAuth client of each (tenant, service) looked up per call. */
export function createRefreshRequestSender(
  resolveClient: (tenantId: string, service: string) => RefreshClientSettings | Promise<RefreshClientSettings>,
): SendRefresh {
  return async (request) => {
    let settings: RefreshClientSettings;
    try {
      settings = await resolveClient(request.tenantId, request.connection.service);
    } catch {
      return { kind: 'failed', reason: 'invalid_client' };
    }
    return sendRefreshRequest(settings, request.refreshToken, request.signal);
  };
}

function isTimeout(error: unknown, signal: AbortSignal): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  return signal.aborted || name === 'TimeoutError' || name === 'AbortError';
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3_600) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - Date.now(), 3_600_000));
}
