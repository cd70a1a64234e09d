import * as oauth from 'oauth4webapi';
import { GatehouseError } from '../core/index.ts';
import type { ResolvedAuthorizationServer } from './resolve-authorization-server.ts';

/**
 * RFC 9207 `iss` check, without any normalisation (OA-05/06/07):
 * - more than one `iss` -> reject;
 * - `iss` present and the issuer known -> it must equal the issuer byte for byte (a trailing slash, other case,
 *   an explicit `:443` or another percent-encoding all differ);
 * - `iss` absent -> reject when the server advertises `authorization_response_iss_parameter_supported`, else
 *   proceed (the server predates RFC 9207).
 * oauth4webapi's `validateAuthResponse` makes the same two checks; this one runs first so that the outcome does
 * not depend on its internals, and it also covers a server configured without `issuer`, where `iss` cannot be
 * compared and is therefore not given to oauth4webapi (which would compare it against a stand-in).
 */
export function checkIssuer(server: ResolvedAuthorizationServer, params: URLSearchParams): void {
  const values = params.getAll('iss');
  if (values.length > 1) throw issuerError('repeated');
  const iss = values[0];
  if (iss === undefined) {
    if (server.metadata.authorization_response_iss_parameter_supported === true) throw issuerError('missing');
    return;
  }
  if (server.issuerKnown && iss !== server.metadata.issuer) throw issuerError('mismatch');
}

/**
 * Validates an authorization response for the expected `state` (already matched to a stored authorization by the
 * caller): `iss` first (`checkIssuer`), then oauth4webapi's checks. An error response from the server
 * (`error=access_denied` ...) becomes `oauth_denied` with the server's error code (a registered word, checked);
 * its `error_description` stays on the cause, for the connect flow to show (`withProviderDescription`).
 */
export function validateCallback(
  server: ResolvedAuthorizationServer,
  client: oauth.Client,
  params: URLSearchParams,
  expectedState: string,
): URLSearchParams {
  checkIssuer(server, params);
  const checked = new URLSearchParams(params);
  if (!server.issuerKnown) checked.delete('iss');
  try {
    return oauth.validateAuthResponse(server.metadata, client, checked, expectedState);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      const code = /^[a-z_]{1,64}$/.test(error.error) ? error.error : 'invalid';
      throw new GatehouseError(
        'oauth_denied',
        `The authorization server refused the authorization (${code})`,
        { reason: code },
        { cause: error },
      );
    }
    throw new GatehouseError(
      'oauth_state_invalid',
      'The authorization response is not valid',
      { reason: 'invalid_response' },
      { cause: error },
    );
  }
}

function issuerError(reason: 'missing' | 'mismatch' | 'repeated'): GatehouseError {
  return new GatehouseError(
    'oauth_issuer_mismatch',
    reason === 'missing'
      ? 'The authorization response has no iss parameter although the server advertises it (RFC 9207)'
      : 'The iss parameter of the authorization response does not identify the expected server (RFC 9207)',
    { reason },
  );
}
