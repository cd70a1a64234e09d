import { connectionVariableRules, GatehouseError, type OAuthQuirk } from '../core/index.ts';

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
 * `token_type` is `user`/`bot` (made `Bearer`, which is how Slack's tokens are sent). `no-token-type` (Shopify):
 * a successful answer without `token_type` is read as `bearer` (oauth4webapi requires the field). A code exchange
 * (`grant: 'authorization_code'`) without `authed_user.access_token` fails with `oauth_token_failed` (reason
 * `no_user_token`): the top-level token is the workspace's bot token, never a user's connection. A refresh
 * answers with the user token at the top level.
 */
export async function normalizeTokenResponse(
  response: Response,
  settings: OAuthProviderSettings,
  grant: 'authorization_code' | 'other' = 'other',
): Promise<Response> {
  const slack = settings.quirks?.includes('slack-authed-user') === true;
  const noTokenType = settings.quirks?.includes('no-token-type') === true;
  if ((!slack && !noTokenType) || response.status !== 200) return response;
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
  if (!slack) {
    // `no-token-type` (Shopify): the answer has no token_type; its tokens are sent as bearer tokens.
    return json(record['token_type'] === undefined ? { ...record, token_type: 'bearer' } : record, 200);
  }
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
  const hasUserToken =
    user !== null && typeof user === 'object' && typeof (user as Record<string, unknown>)['access_token'] === 'string';
  if (!hasUserToken && grant === 'authorization_code') {
    throw new GatehouseError(
      'oauth_token_failed',
      'Slack answered the code exchange without a user token (authed_user.access_token); the connection needs user scopes (user_scope), a bot token is never stored as a user connection',
      { reason: 'no_user_token' },
    );
  }
  const source = hasUserToken ? (user as Record<string, unknown>) : record;
  const lifted: Record<string, unknown> = { token_type: 'Bearer' };
  for (const field of ['access_token', 'refresh_token', 'expires_in', 'scope'] as const) {
    if (source[field] !== undefined) lifted[field] = source[field];
  }
  return json(lifted, 200);
}

/**
 * The connection variables a token response carries (`salesforce-instance-url`: `instance_url`, the org's API
 * origin, as `instanceUrl`); undefined when the quirk does not apply or (`required: false`, a refresh) the answer
 * has none. A value that breaks its rule (`connectionVariableRules`: an https origin under salesforce.com or
 * force.com, no IP literal, port or path) fails with `oauth_token_failed`, reason `invalid_instance_url`, never
 * echoing it: a forged answer must not move the users' calls to another host. A code exchange without one fails
 * with reason `no_instance_url`.
 */
export function readTokenVariables(
  response: Readonly<Record<string, unknown>>,
  settings: OAuthProviderSettings,
  required: boolean,
): Record<string, string> | undefined {
  if (settings.quirks?.includes('salesforce-instance-url') !== true) return undefined;
  const value = response['instance_url'];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string') {
    throw new GatehouseError('oauth_token_failed', 'The token response has no instance_url (Salesforce)', {
      reason: 'no_instance_url',
    });
  }
  if (!connectionVariableRules.instanceUrl.pattern.test(value)) {
    throw new GatehouseError(
      'oauth_token_failed',
      'The token response names an instance_url that is not a Salesforce org origin (https://*.salesforce.com or *.force.com)',
      { reason: 'invalid_instance_url' },
    );
  }
  return { instanceUrl: value };
}
