import * as oauth from 'oauth4webapi';
import { connectionVariableRules, GatehouseError } from '../core/index.ts';
import { createOAuthFetch, type OAuthFetch } from './create-oauth-fetch.ts';

/** Atlassian's list of the sites a token may reach (the `atlassian-cloud-id` quirk). */
export const atlassianAccessibleResourcesUrl = 'https://api.atlassian.com/oauth/token/accessible-resources';

/**
 * Sends a post-connect discovery call: `GET` with the new access token (no redirects, the request timeout, and the
 * given fetch: the SSRF-guarded one in the gateway). Atlassian's accessible-resources by default; `what` names
 * another (Xero's connections) in the error.
 */
export async function accessibleResourcesRequest(
  url: string,
  accessToken: string,
  options: { readonly timeoutMs?: number; readonly fetch?: OAuthFetch } = {},
  what = 'accessible-resources request (Atlassian)',
): Promise<Response> {
  const request = createOAuthFetch(url, options.timeoutMs, options.fetch, what);
  try {
    return await request[oauth.customFetch](url, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: request.signal(),
      redirect: 'manual',
      body: undefined,
    });
  } catch (error) {
    if (error instanceof GatehouseError) throw error;
    throw new GatehouseError(
      'oauth_token_failed',
      `The ${what} failed`,
      { reason: 'accessible_resources_failed' },
      { cause: error },
    );
  }
}

/**
 * One place an account can reach, as the chooser page shows it: an Atlassian site, whose id becomes the
 * connection's `cloudId`, or a Xero organisation, whose id becomes its `tenantId`.
 */
export interface AccessibleSite {
  /** What it is; absent in a choice held before organisations were offered: a site. */
  readonly kind?: 'site' | 'organisation';
  /** The cloud id or the Xero tenant id: a UUID (its variable's rule), in every call's path or header. */
  readonly id: string;
  /** The site's name as Atlassian gives it (at most 200 characters; the id when it gave none). */
  readonly name: string;
  /** The site's address as Atlassian gives it (`https://acme.atlassian.net`), shown only; empty when absent. */
  readonly url: string;
}

/**
 * The sites a connection may use, from an accessible-resources answer: those whose `scopes` share one with
 * `granted` (a Jira connection offers Jira sites when the account also has Confluence-only sites), else all of
 * them; one entry per id, in the answer's order. Each `id` must pass the cloudId rule (a UUID): it becomes part of
 * every call's path. No site, or an answer that is not a JSON list of sites, fails with `oauth_token_failed`
 * (reason `no_accessible_resource` / `accessible_resources_failed`), echoing nothing of the answer. With one
 * site the caller takes it; with several a person chooses (the site chooser after the callback).
 */
export async function processAccessibleResourcesResponse(
  response: Response,
  granted: readonly string[],
): Promise<{ sites: readonly AccessibleSite[] }> {
  const body = await readDiscoveryList(response, 'accessible-resources', 'Atlassian', 'sites');
  const valid = body.filter(
    (site): site is { id: string; scopes?: unknown; name?: unknown; url?: unknown } =>
      site !== null &&
      typeof site === 'object' &&
      typeof (site as { id?: unknown }).id === 'string' &&
      connectionVariableRules.cloudId.pattern.test((site as { id: string }).id),
  );
  const sharesScope = (site: { scopes?: unknown }) =>
    Array.isArray(site.scopes) && site.scopes.some((scope) => granted.includes(scope as string));
  const covered = valid.filter(sharesScope);
  const sites: AccessibleSite[] = [];
  for (const site of covered.length > 0 ? covered : valid) {
    if (sites.some((known) => known.id === site.id)) continue;
    sites.push({
      kind: 'site',
      id: site.id,
      name: typeof site.name === 'string' && site.name.trim() !== '' ? site.name.slice(0, 200) : site.id,
      url: typeof site.url === 'string' && /^https:\/\/[^\s]{1,200}$/.test(site.url) ? site.url : '',
    });
  }
  if (sites.length === 0) {
    throw discoveryFailed(
      response,
      'no_accessible_resource',
      'The account has no Atlassian site this app may reach (accessible-resources listed none with a valid id)',
    );
  }
  return { sites };
}

/** Xero's list of the organisations a token may reach (the `xero-tenant-id` quirk). */
export const xeroConnectionsUrl = 'https://api.xero.com/connections';

/**
 * The organisations a connection may use, from Xero's connections answer: each `tenantType: ORGANISATION` entry
 * whose `tenantId` passes its rule (a UUID: it is sent in the `xero-tenant-id` header of every call), one per id,
 * in the answer's order, named by its `tenantName`. None, or an answer that is not a JSON list, fails with
 * `oauth_token_failed` (reason `no_accessible_resource` / `accessible_resources_failed`), echoing nothing of the
 * answer. With one organisation the caller takes it; with several a person chooses (the chooser after the callback).
 */
export async function processXeroConnectionsResponse(
  response: Response,
): Promise<{ organisations: readonly AccessibleSite[] }> {
  const body = await readDiscoveryList(response, 'connections', 'Xero', 'organisations');
  const organisations: AccessibleSite[] = [];
  for (const entry of body) {
    if (entry === null || typeof entry !== 'object') continue;
    const { tenantType, tenantId, tenantName } = entry as Record<string, unknown>;
    if (tenantType !== 'ORGANISATION' || typeof tenantId !== 'string') continue;
    if (!connectionVariableRules.tenantId.pattern.test(tenantId)) continue;
    if (organisations.some((known) => known.id === tenantId)) continue;
    const name = typeof tenantName === 'string' && tenantName.trim() !== '' ? tenantName.slice(0, 200) : tenantId;
    organisations.push({ kind: 'organisation', id: tenantId, name, url: '' });
  }
  if (organisations.length === 0) {
    throw discoveryFailed(
      response,
      'no_accessible_resource',
      'The account has connected no Xero organisation this app may reach',
    );
  }
  return { organisations };
}

/** The connection variable a chosen site or organisation fills. */
export function variableOfSite(site: AccessibleSite): 'cloudId' | 'tenantId' {
  return site.kind === 'organisation' ? 'tenantId' : 'cloudId';
}

/**
 * The JSON list a post-connect discovery call answered (`what` of `provider`, a list of `items`); anything else
 * fails with `oauth_token_failed` (reason `accessible_resources_failed`), echoing nothing of the answer.
 */
async function readDiscoveryList(
  response: Response,
  what: string,
  provider: string,
  items: string,
): Promise<unknown[]> {
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw discoveryFailed(
      response,
      'accessible_resources_failed',
      `The ${what} request (${provider}) answered ${response.status}`,
    );
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw discoveryFailed(response, 'accessible_resources_failed', `The ${what} answer (${provider}) is not JSON`);
  }
  if (!Array.isArray(body)) {
    throw discoveryFailed(
      response,
      'accessible_resources_failed',
      `The ${what} answer (${provider}) is not a list of ${items}`,
    );
  }
  return body;
}

function discoveryFailed(response: Response, reason: string, message: string): GatehouseError {
  return new GatehouseError('oauth_token_failed', message, { reason, status: response.status });
}
