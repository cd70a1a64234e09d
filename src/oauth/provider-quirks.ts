import type { OAuthQuirk } from '../core/index.ts';

/**
 * The small named handlers behind provider quirks (docs/providers.md, "What is data and what is a quirk"). Each is
 * a pure step the connect flow and the refresh request call at one place; the provider data says which apply.
 */

/** How a service's OAuth settings shape requests and responses (all optional; absent = the standard). */
export interface OAuthProviderSettings {
  readonly scopeSeparator?: ' ' | ',' | '+' | undefined;
  readonly quirks?: readonly OAuthQuirk[] | undefined;
}

/**
 * The authorize parameter that carries the scopes: Slack asks for user-token scopes as `user_scope` (its `scope`
 * is for the bot token, which the gateway does not use).
 */
export function scopeParameterOf(settings: OAuthProviderSettings): 'scope' | 'user_scope' {
  return settings.quirks?.includes('slack-authed-user') ? 'user_scope' : 'scope';
}

/** The authorize request's scope value: the scopes joined by the provider's separator (RFC 6749 §3.3: a space). */
export function joinScopes(scopes: readonly string[], settings: OAuthProviderSettings): string {
  return scopes.join(settings.scopeSeparator ?? ' ');
}

/**
 * The granted scopes of a token response's `scope`. Standard: split on spaces (RFC 6749 §3.3). A catalogue
 * provider (one with a separator set) is also split on commas: GitHub asks with spaces and answers `repo,gist`.
 */
export function splitGrantedScope(scope: string, settings: OAuthProviderSettings): string[] {
  const separator = settings.scopeSeparator;
  if (separator === undefined) return scope.split(' ').filter(Boolean);
  const escaped = separator.replace(/[+]/g, '\\+');
  return scope.split(new RegExp(`[\\s,${escaped}]+`)).filter(Boolean);
}

/**
 * Rewrites a token endpoint response into the standard form before oauth4webapi validates it, for the quirks that
 * need it; returns the response untouched otherwise. Slack (`slack-authed-user`): errors come as HTTP 200 with
 * `{ ok: false, error }` (made a 400 with `error`, so they are OAuth errors); the user token of a code exchange is
 * nested as `authed_user.{access_token, scope, refresh_token, expires_in}` beside the bot's (lifted to the top);
 * `token_type` is `user`/`bot` (made `Bearer`, which is how Slack's tokens are sent).
 */
export async function normalizeTokenResponse(response: Response, settings: OAuthProviderSettings): Promise<Response> {
  if (!settings.quirks?.includes('slack-authed-user') || response.status !== 200) return response;
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    // Not JSON: let the standard processing reject it as malformed.
    return new Response('not json', { status: 200, headers: { 'content-type': 'application/json' } });
  }
  const record = (body ?? {}) as Record<string, unknown>;
  const json = (value: unknown, status: number) =>
    new Response(JSON.stringify(value), {
      status,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  if (record['ok'] === false) {
    const error = typeof record['error'] === 'string' ? record['error'] : 'invalid_request';
    // Slack names a bad or spent refresh token or code this way; it is the standard's invalid_grant.
    const standard = ['invalid_refresh_token', 'invalid_code', 'code_already_used', 'invalid_grant_type'].includes(
      error,
    )
      ? 'invalid_grant'
      : error === 'invalid_client_id' || error === 'bad_client_secret'
        ? 'invalid_client'
        : error.replace(/[^a-z_]/g, '_').slice(0, 64);
    return json({ error: standard }, 400);
  }
  const user = record['authed_user'];
  const source =
    user !== null && typeof user === 'object' && typeof (user as Record<string, unknown>)['access_token'] === 'string'
      ? (user as Record<string, unknown>)
      : record;
  const lifted: Record<string, unknown> = { token_type: 'Bearer' };
  for (const field of ['access_token', 'refresh_token', 'expires_in', 'scope'] as const) {
    if (source[field] !== undefined) lifted[field] = source[field];
  }
  return json(lifted, 200);
}
