import * as oauth from 'oauth4webapi';
import { createScrubber } from '../audit/index.ts';
import { GatehouseError } from '../core/index.ts';

/** Longest provider `error_description` kept: enough for a sentence or two, not for a page the provider echoes. */
export const providerDescriptionLimit = 300;

/**
 * `error` with the provider's `error_description` (of a refused authorization or token request) added as
 * `details.description`, fit to show the person who is connecting: every form of `secrets` (the code, the PKCE
 * verifier, the client secret: what the request carried, which a provider may echo) replaced by `[REDACTED]`, then
 * cut to `providerDescriptionLimit` characters. The page escapes it and marks invisible characters. Other errors,
 * and errors without a description, are returned as they are.
 */
export function withProviderDescription(error: unknown, secrets: readonly (string | null | undefined)[]): unknown {
  if (!(error instanceof GatehouseError)) return error;
  const cause = error.cause;
  const text =
    cause instanceof oauth.ResponseBodyError || cause instanceof oauth.AuthorizationResponseError
      ? cause.error_description
      : undefined;
  if (typeof text !== 'string' || text.trim() === '') return error;
  const scrub = createScrubber(secrets.filter((s): s is string => typeof s === 'string' && s !== ''));
  const scrubbed = scrub(text).trim();
  const description =
    scrubbed.length > providerDescriptionLimit ? `${scrubbed.slice(0, providerDescriptionLimit - 1)}…` : scrubbed;
  return new GatehouseError(error.code, error.message, { ...error.details, description }, { cause });
}

/**
 * Why a callback did not complete, as a short code kept with the authorization and shown when its callback is
 * loaded again: the provider's OAuth error (`invalid_grant`) or the reason (`timeout`), after the error code.
 */
export function failureOf(error: unknown): string {
  if (!(error instanceof GatehouseError)) return 'internal';
  const word = error.details['error'] ?? error.details['reason'];
  const text = typeof word === 'string' && word !== error.code ? `${error.code}: ${word}` : error.code;
  return text.replace(/[^\w .:-]/g, '').slice(0, 100);
}
