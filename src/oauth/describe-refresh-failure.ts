import type { ConnectionError } from '../store/index.ts';
import type { RefreshOutcome } from './refresh-request.ts';

type Refusal = Exclude<RefreshOutcome, { readonly kind: 'tokens' }>;

/**
 * A failed refresh as a connection keeps it (`lastError`, shown on the Connections page and in the admin API):
 * the outcome's code and a sentence in our own words with at most the HTTP status. Nothing the authorization
 * server wrote (`error_description`, a body that echoes the request) is kept, so no token or secret can be.
 */
export function describeRefreshFailure(outcome: Refusal, at: number): ConnectionError {
  if (outcome.kind === 'invalid_grant') {
    return {
      code: 'invalid_grant',
      message: 'The authorization server refused the refresh token (invalid_grant); connect the account again',
      at,
    };
  }
  const status = outcome.status === undefined ? '' : ` (HTTP ${outcome.status})`;
  const messages: Record<typeof outcome.reason, string> = {
    server_error: `The token endpoint failed${status}; the refresh is tried again later`,
    rate_limited: `The token endpoint asked to slow down${status}; the refresh is tried again later`,
    timeout: 'The token endpoint did not answer in time; the refresh is tried again later',
    network: 'The token endpoint could not be reached; the refresh is tried again later',
    malformed: `The token endpoint's answer was not a valid token response${status}`,
    invalid_client: `The authorization server refused the gateway's client credentials${status}; check the service's clientId and clientSecret`,
    rejected: `The authorization server refused the refresh with an OAuth error${status}`,
  };
  return { code: outcome.reason, message: messages[outcome.reason], at };
}
