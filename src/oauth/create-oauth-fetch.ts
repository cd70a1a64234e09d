import * as oauth from 'oauth4webapi';
import { GatehouseError } from '../core/index.ts';
import { readBoundedResponse } from './read-bounded-response.ts';

/**
 * How requests to an authorization server are sent: the gateway passes one whose connections go through the SSRF
 * guard (a provider host that resolves to a private address is refused unless allowed by name); tests and tools
 * without one use the global `fetch`.
 */
export type OAuthFetch = (url: string, init: RequestInit) => Promise<Response>;

/** The options every oauth4webapi call of Gatehouse gets: timeout, no redirects, http only on loopback. */
export interface OAuthRequestOptions {
  readonly signal: () => AbortSignal;
  readonly [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<string, unknown>) => Promise<Response>;
  readonly [oauth.allowInsecureRequests]: boolean;
}

/**
 * Request options for one authorization server. oauth4webapi already sends `redirect: 'manual'`; the fetch here
 * also refuses any 3xx answer outright (OA-12: a token request never follows a redirect, and a redirect is never
 * mistaken for an answer). Plain `http:` is allowed only for loopback hosts (tests, local providers); any other
 * `http:` endpoint is refused by oauth4webapi. Every answer's body is read here, bounded (`readBoundedResponse`),
 * before oauth4webapi or a discovery call parses it: an oversized answer fails with reason `response_too_large`,
 * naming `answering` (what answered) and nothing of the answer.
 */
export function createOAuthFetch(
  endpoint: string,
  timeoutMs = 10_000,
  send: OAuthFetch = fetch,
  answering = 'authorization server',
): OAuthRequestOptions {
  return {
    signal: () => AbortSignal.timeout(timeoutMs),
    [oauth.customFetch]: async (url, init) => {
      const response = await send(url, { ...(init as RequestInit), redirect: 'manual' });
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        throw new GatehouseError(
          'oauth_token_failed',
          `The authorization server answered ${response.status} (a redirect), which is never followed`,
          { status: response.status, reason: 'redirect_refused' },
        );
      }
      return readBoundedResponse(response, answering);
    },
    [oauth.allowInsecureRequests]: isLoopbackUrl(endpoint),
  };
}

/** True for `http(s)://localhost`, `127.0.0.0/8` and `[::1]` URLs. */
export function isLoopbackUrl(value: string): boolean {
  let host: string;
  try {
    host = new URL(value).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
