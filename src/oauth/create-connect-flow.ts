import { createHash, createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/index.ts';
import { createId, GatehouseError } from '../core/index.ts';
import type { ConnectionRecord, PendingAuthorizationRecord, Store } from '../store/index.ts';
import {
  type AccessibleSite,
  accessibleResourcesRequest,
  atlassianAccessibleResourcesUrl,
  processAccessibleResourcesResponse,
  processXeroConnectionsResponse,
  variableOfSite,
  xeroConnectionsUrl,
} from './accessible-resources.ts';
import { redirectUriOf } from './client-metadata-document.ts';
import { createAuthorizationRequest } from './create-authorization-request.ts';
import type { OAuthFetch } from './create-oauth-fetch.ts';
import { failureOf, withProviderDescription } from './describe-provider-error.ts';
import { isSafeReturnPath } from './is-safe-return-path.ts';
import type { OAuthServiceAuth, TokenSet } from './oauth-service.ts';
import { type ResolvedAuthorizationServer, resolveAuthorizationServer } from './resolve-authorization-server.ts';
import {
  authorizationCodeRequest,
  clientCredentialsRequest,
  type OAuthClientCredentials,
  processAuthorizationCodeResponse,
  processClientCredentialsResponse,
  processRevocationResponse,
  revocationRequest,
} from './token-requests.ts';
import { validateCallback } from './validate-callback.ts';

/** The encrypt/decrypt slice of the vault (structurally `Vault`). */
export interface OAuthSealer {
  encrypt(scope: { tenantId: string; owner: string; field: string }, plaintext: string): Promise<Uint8Array>;
  decrypt(scope: { tenantId: string; owner: string; field: string }, blob: Uint8Array): Promise<string>;
}

/** A security event of the connect flow, for the audit log (names from audit's closed set). */
export interface ConnectSecurityEvent {
  readonly tenant: string;
  readonly event: 'connect' | 'oauth_state_rejected';
  readonly decision: 'allow' | 'deny' | 'error';
  readonly subject?: string;
  readonly code?: string;
  /** A short word: why a state was rejected, `connected`, `disconnected`. */
  readonly detail?: string;
  /** `service:<id>` or `connection:<id>`. */
  readonly target?: string;
}

export interface ConnectFlowDependencies {
  readonly store: Pick<Store, 'connectFlow' | 'connections'>;
  readonly sealer: OAuthSealer;
  readonly clock: Clock;
  /** The gateway's public base URL without a trailing slash; the redirect URI is `{publicUrl}/oauth/callback`. */
  readonly publicUrl: string;
  /**
   * The `oauth2` auth block of (tenant, service); undefined when there is no such oauth2 service. May be a promise:
   * an `mcp:` service's is discovered from its server at first use (a failure rejects, naming the service).
   */
  findService(tenant: string, service: string): OAuthServiceAuth | undefined | Promise<OAuthServiceAuth | undefined>;
  /** The service's client secret, decrypted from the vault; undefined for a public client. */
  readClientSecret(tenant: string, service: string): Promise<string | undefined>;
  /**
   * The token endpoint answered `invalid_client` for `clientId` of (tenant, service) during a code exchange: a
   * registered client is registered again, so the next connect link uses the new one. Absent: nothing happens.
   */
  refuseClient?(tenant: string, service: string, clientId: string): Promise<unknown>;
  /** Called for every rejected callback and every connect/disconnect; awaited, failures propagate. */
  onSecurityEvent?(event: ConnectSecurityEvent): Promise<void> | void;
  /** Timeout of each request to an authorization server, ms (default 10,000). */
  readonly timeoutMs?: number;
  /** Sends every request to an authorization server (the SSRF-guarded fetch in the gateway); default `fetch`. */
  readonly fetch?: OAuthFetch;
}

export interface ConnectLink {
  readonly id: string;
  /** `{publicUrl}/connect/<id>?sig=...`: signed, single use, no secret inside. */
  readonly authorizeUrl: string;
  readonly expiresAt: number;
}

export interface ConnectLinkRequest {
  readonly tenant: string;
  readonly service: string;
  readonly subject: string;
  /** Scopes to request instead of the configured ones (a step-up); default the service's `scopes`. */
  readonly scopes?: readonly string[];
  /** Same-origin relative path offered after the callback (OA-10). */
  readonly returnTo?: string;
}

/** A connect link whose signature checked, unused and unexpired: what it connects, for whom. */
export interface InspectedLink {
  readonly tenant: string;
  readonly id: string;
  readonly service: string;
  readonly subject: string;
  /** Scopes to request instead of the service's configured ones; empty: the configured ones. */
  readonly scopes: readonly string[];
  readonly expiresAt: number;
}

/** What `/connect/<id>` answers: the redirect to the authorization server and the session cookie to set. */
export interface StartedAuthorization {
  readonly redirectUrl: string;
  readonly cookie: { readonly name: string; readonly value: string; readonly maxAgeSeconds: number };
}

export interface CompletedConnection {
  readonly tenant: string;
  readonly service: string;
  readonly subject: string;
  readonly connectionId: string;
  /** The scopes granted (the token response's `scope`, else those asked for). */
  readonly scopes: readonly string[];
  /** The scopes the authorization request asked for. */
  readonly requestedScopes: readonly string[];
  readonly returnTo: string | null;
  /** The Atlassian site or Xero organisation the person chose on the chooser, when there was a choice. */
  readonly site?: AccessibleSite;
}

/**
 * The callback's answer when the account can reach several Atlassian sites or Xero organisations and the service
 * pins none: nothing is
 * connected yet; the tokens wait (sealed, 10 minutes) for the person to pick one of `sites` (`chooseSite`).
 */
export interface SiteChoice {
  readonly tenant: string;
  readonly service: string;
  readonly subject: string;
  readonly sites: readonly AccessibleSite[];
  /** The callback's `state`: the chooser form posts it back (bound to this browser's session cookie). */
  readonly state: string;
  /** The session cookie again, with a fresh lifetime: the choice may come later than the link's 10 minutes. */
  readonly cookie: { readonly name: string; readonly value: string; readonly maxAgeSeconds: number };
}

/** A connection token decrypted for one upstream call. */
export interface ConnectionToken {
  readonly connection: ConnectionRecord;
  readonly accessToken: string;
}

/** Links and pending authorizations live this long (OA-02/03: a state older than 10 minutes is refused). */
export const connectTtlMs = 10 * 60_000;
/** How long discovered metadata is reused. */
const metadataTtlMs = 60 * 60_000;
/** Subject under which a client-credentials token of a service is kept (not a person). */
export const clientCredentialsSubject = '@client';
const cookiePrefix = 'gh_connect_';
const tenantPattern = /^[a-z0-9][a-z0-9-]{0,39}$/;

export type ConnectFlow = ReturnType<typeof createConnectFlow>;

/**
 * The OAuth connect flow (DESIGN.md §6): signed single-use links, the authorization code flow with PKCE S256 bound
 * to the browser session that opened the link, the code exchange, connections with encrypted tokens, client
 * credentials and disconnect with RFC 7009 revocation. Protocol steps are the `...Request()` /
 * `process...Response()` pairs of this folder, over oauth4webapi.
 */
export function createConnectFlow(deps: ConnectFlowDependencies) {
  const { store, sealer, clock } = deps;
  const redirectUri = redirectUriOf(deps.publicUrl);
  const secureCookie = deps.publicUrl.startsWith('https:');
  const servers = new Map<string, { at: number; server: Promise<ResolvedAuthorizationServer> }>();
  const linkKeys = new Map<string, Promise<KeyObject>>();
  const clientTokens = new Map<string, Promise<ConnectionRecord>>();
  const requestOptions = {
    ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
  };
  let lastSweep = 0;

  async function serviceOf(tenant: string, service: string): Promise<OAuthServiceAuth> {
    const auth = await deps.findService(tenant, service);
    if (auth === undefined) throw new GatehouseError('not_found', `No OAuth service ${service} in tenant ${tenant}`);
    return auth;
  }

  function serverOf(tenant: string, service: string, auth: OAuthServiceAuth): Promise<ResolvedAuthorizationServer> {
    const key = `${tenant}\u0000${service}`;
    const cached = servers.get(key);
    if (cached !== undefined && clock.now() - cached.at < metadataTtlMs) return cached.server;
    const server = resolveAuthorizationServer(auth, deps.timeoutMs, deps.fetch);
    servers.set(key, { at: clock.now(), server });
    server.catch(() => {
      if (servers.get(key)?.server === server) servers.delete(key);
    });
    return server;
  }

  async function clientOf(tenant: string, service: string, auth: OAuthServiceAuth): Promise<OAuthClientCredentials> {
    return {
      clientId: auth.clientId,
      clientSecret: await deps.readClientSecret(tenant, service),
      authMethod: auth.tokenEndpointAuthMethod,
      provider: { scopeSeparator: auth.scopeSeparator, quirks: auth.quirks },
    };
  }

  function linkKeyOf(tenant: string): Promise<KeyObject> {
    let key = linkKeys.get(tenant);
    if (key === undefined) {
      key = (async () => {
        const scope = { tenantId: tenant, owner: 'connect', field: 'link_key' };
        const candidate = await sealer.encrypt(scope, randomBytes(32).toString('base64'));
        const stored = await store.connectFlow.ensureLinkKey(tenant, candidate, clock.now());
        return createSecretKey(Buffer.from(await sealer.decrypt(scope, stored), 'base64'));
      })();
      linkKeys.set(tenant, key);
      key.catch(() => linkKeys.delete(tenant));
    }
    return key;
  }

  async function signLink(tenant: string, id: string, service: string, subject: string, expiresAt: number) {
    const message = ['gatehouse-connect-link-v1', tenant, id, service, subject, String(expiresAt)].join('\n');
    return createHmac('sha256', await linkKeyOf(tenant))
      .update(message)
      .digest();
  }

  async function reject(
    tenant: string | undefined,
    detail: string,
    subject?: string,
    message = messageOf(detail),
  ): Promise<never> {
    // Without a tenant (no usable state) there is no tenant log to write to; the gateway ignores unknown tenants.
    if (tenant !== undefined) {
      await deps.onSecurityEvent?.({
        tenant,
        event: 'oauth_state_rejected',
        decision: 'deny',
        code: 'oauth_state_invalid',
        detail,
        ...(subject === undefined ? {} : { subject }),
      });
    }
    throw new GatehouseError('oauth_state_invalid', message, { reason: detail });
  }

  /**
   * The pending authorization of `state`, if this browser started it (its session cookie, OA-04); else why not
   * (`detail`, with the tenant to record it in when the state is known).
   */
  async function boundAuthorization(
    state: string | null | undefined,
    cookies: Readonly<Record<string, string>>,
  ): Promise<
    | { readonly tenant: string; readonly stateHash: string; readonly pending: PendingAuthorizationRecord }
    | { readonly rejected: string; readonly tenant?: string; readonly subject?: string }
  > {
    if (state === null || state === undefined || state.length > 512) return { rejected: 'missing_state' };
    const tenant = state.slice(0, state.indexOf('.'));
    if (!tenantPattern.test(tenant)) return { rejected: 'unknown_state' };
    const stateHash = hashOf(state);
    const pending = await store.connectFlow.getAuthorization(tenant, stateHash);
    // No pending authorization: anyone can send a made-up state, so it is refused without a record (a record
    // per request would let an anonymous caller grow the tenant's append-only log).
    if (pending === undefined) return { rejected: 'unknown_state' };
    // The browser binding is checked before the state is consumed: a callback without the cookie of the browser
    // that opened the link (someone who saw the URL) must not burn the state the real user is about to return with.
    const session = cookies[cookieNameOf(stateHash)];
    if (session === undefined || !timingSafeEqual(Buffer.from(hashOf(session)), Buffer.from(pending.sessionHash))) {
      return { rejected: 'session_mismatch', tenant, subject: pending.subject };
    }
    return { tenant, stateHash, pending };
  }

  /** Stores the tokens as the connection, records the connect and says what was connected. */
  async function finishConnection(
    tenant: string,
    pending: PendingAuthorizationRecord,
    tokens: TokenSet,
    site?: AccessibleSite,
  ): Promise<CompletedConnection> {
    const link = await store.connectFlow.getLink(tenant, pending.linkId);
    const saved = await saveConnection(tenant, pending.service, pending.subject, tokens, pending.scopes);
    await deps.onSecurityEvent?.({
      tenant,
      event: 'connect',
      decision: 'allow',
      subject: pending.subject,
      detail: 'connected',
      target: `connection:${saved.id}`,
    });
    return {
      tenant,
      service: pending.service,
      subject: pending.subject,
      connectionId: saved.id,
      scopes: saved.scopes,
      requestedScopes: pending.scopes,
      returnTo: link?.returnTo ?? null,
      ...(site === undefined ? {} : { site }),
    };
  }

  /** The chooser again for a held site choice (the callback reloaded before the person chose). */
  async function siteChoiceOf(
    tenant: string,
    stateHash: string,
    state: string,
    pending: PendingAuthorizationRecord,
    session: string,
  ): Promise<SiteChoice> {
    const held = await openSiteChoice(tenant, stateHash, pending.siteChoice as Uint8Array);
    return {
      tenant,
      service: pending.service,
      subject: pending.subject,
      sites: held.sites,
      state,
      cookie: {
        name: cookieNameOf(stateHash),
        value: session,
        maxAgeSeconds: Math.max(1, Math.ceil((pending.expiresAt - clock.now()) / 1000)),
      },
    };
  }

  async function openSiteChoice(tenant: string, stateHash: string, sealed: Uint8Array): Promise<HeldSiteChoice> {
    const scope = { tenantId: tenant, owner: `authorization:${stateHash}`, field: 'site_choice' };
    return JSON.parse(await sealer.decrypt(scope, sealed)) as HeldSiteChoice;
  }

  /** Encrypts tokens into the connection of (tenant, service, subject), keeping an existing connection's id. */
  async function saveConnection(
    tenant: string,
    service: string,
    subject: string,
    tokens: TokenSet,
    requestedScopes: readonly string[],
  ): Promise<ConnectionRecord> {
    let id = (await store.connections.find(tenant, service, subject))?.id ?? createId(16);
    for (let attempt = 0; attempt < 2; attempt++) {
      const owner = `connection:${id}`;
      const accessToken = await sealer.encrypt({ tenantId: tenant, owner, field: 'access_token' }, tokens.accessToken);
      const refreshToken =
        tokens.refreshToken === undefined
          ? null
          : await sealer.encrypt({ tenantId: tenant, owner, field: 'refresh_token' }, tokens.refreshToken);
      const saved = await store.connections.upsert({
        tenantId: tenant,
        id,
        service,
        subject,
        status: 'active',
        scopes: tokens.scopes ?? requestedScopes,
        accessToken,
        refreshToken,
        accessExpiresAt: tokens.accessExpiresAt,
        ...(tokens.variables === undefined ? {} : { variables: tokens.variables }),
        createdAt: clock.now(),
      });
      if (saved.id === id) return saved;
      // A concurrent completion created the row first and the upsert kept its id: the ciphertexts are bound to
      // the id (associated data), so seal them again for the stored one.
      id = saved.id;
    }
    throw new GatehouseError('internal', `Connection of ${service}/${subject} kept changing while it was saved`);
  }

  /**
   * Quirks `atlassian-cloud-id` (the site's cloud id) and `xero-tenant-id` (the organisation's tenant id), read with
   * the new token before the connection is saved.
   */
  async function discoverVariables(
    auth: OAuthServiceAuth,
    tokens: TokenSet,
    requestedScopes: readonly string[],
  ): Promise<TokenSet | HeldSiteChoice> {
    if (auth.quirks?.includes('xero-tenant-id') === true) {
      const answer = await accessibleResourcesRequest(
        auth.connectionsUrl ?? xeroConnectionsUrl,
        tokens.accessToken,
        requestOptions,
        'connections request (Xero)',
      );
      const { organisations } = await processXeroConnectionsResponse(answer);
      const [only] = organisations;
      if (organisations.length === 1 && only !== undefined)
        return { ...tokens, variables: { ...tokens.variables, tenantId: only.id } };
      return { tokens, sites: organisations };
    }
    if (auth.quirks?.includes('atlassian-cloud-id') !== true) return tokens;
    const answer = await accessibleResourcesRequest(
      auth.accessibleResourcesUrl ?? atlassianAccessibleResourcesUrl,
      tokens.accessToken,
      requestOptions,
    );
    const { sites } = await processAccessibleResourcesResponse(answer, tokens.scopes ?? requestedScopes);
    const [only] = sites;
    if (sites.length === 1 && only !== undefined)
      return { ...tokens, variables: { ...tokens.variables, cloudId: only.id } };
    return { tokens, sites };
  }

  function invalidLink(): GatehouseError {
    return new GatehouseError(
      'not_found',
      'This connect link is not valid, was already used, or has expired. Ask for a new one: call the tool again, or ask an owner or admin to create one on the console',
    );
  }

  /**
   * What a connect link is for, when its signature checks and it is unused and unexpired; it stays unused (a visit
   * that is refused, or must sign in first, does not spend it). Anything else is the same `not_found`.
   */
  async function inspectLink(id: string, sig: string | null): Promise<InspectedLink> {
    const tenant = id.slice(0, id.indexOf('.'));
    if (!tenantPattern.test(tenant) || sig === null || !/^[A-Za-z0-9_-]{43}$/.test(sig)) throw invalidLink();
    const link = await store.connectFlow.getLink(tenant, id);
    if (link === undefined) throw invalidLink();
    const expected = await signLink(tenant, id, link.service, link.subject, link.expiresAt);
    if (!timingSafeEqual(expected, Buffer.from(sig, 'base64url'))) throw invalidLink();
    if (link.usedAt !== null || link.expiresAt <= clock.now()) throw invalidLink();
    return {
      tenant,
      id,
      service: link.service,
      subject: link.subject,
      scopes: link.scopes,
      expiresAt: link.expiresAt,
    };
  }

  /**
   * A link `inspectLink` checked, opened by someone allowed to (the caller decides who from what the inspection
   * returned, so the link is read and its signature checked once): marks it used (single use, atomically: a second
   * opening fails `not_found`), creates the pending authorization (state hash, sealed verifier, session binding)
   * and returns the authorization URL.
   */
  async function startAuthorization(link: InspectedLink): Promise<StartedAuthorization> {
    const { tenant, id } = link;
    const now = clock.now();
    if (!(await store.connectFlow.useLink(tenant, id, now))) throw invalidLink();
    const auth = await serviceOf(tenant, link.service);
    const server = await serverOf(tenant, link.service, auth);
    const scopes = link.scopes.length > 0 ? link.scopes : auth.scopes;
    const request = await createAuthorizationRequest(server.metadata, {
      clientId: auth.clientId,
      redirectUri,
      scopes,
      resource: auth.resource,
      extraParams: auth.authorizeParams,
      statePrefix: tenant,
      pkce: auth.pkce,
      provider: { scopeSeparator: auth.scopeSeparator, quirks: auth.quirks },
    });
    const stateHash = hashOf(request.state);
    const session = randomBytes(32).toString('base64url');
    await store.connectFlow.insertAuthorization({
      tenantId: tenant,
      stateHash,
      linkId: id,
      service: link.service,
      subject: link.subject,
      scopes: [...scopes],
      codeVerifier: await sealer.encrypt(
        { tenantId: tenant, owner: `authorization:${stateHash}`, field: 'code_verifier' },
        request.codeVerifier,
      ),
      sessionHash: hashOf(session),
      expiresAt: now + connectTtlMs,
      consumedAt: null,
      createdAt: now,
    });
    return {
      redirectUrl: request.url.href,
      cookie: { name: cookieNameOf(stateHash), value: session, maxAgeSeconds: connectTtlMs / 1000 },
    };
  }

  /** Creates a signed, single-use connect link valid for 10 minutes. */
  async function createLink(request: ConnectLinkRequest): Promise<ConnectLink> {
    const auth = await serviceOf(request.tenant, request.service);
    if (auth.grant !== 'authorization_code') {
      throw new GatehouseError(
        'invalid_request',
        `Service ${request.service} uses client credentials; nothing to connect`,
      );
    }
    if (request.subject.length === 0 || request.subject.length > 200 || request.subject.startsWith('@')) {
      throw new GatehouseError('invalid_request', 'subject must be 1-200 characters and not start with @');
    }
    if (request.returnTo !== undefined && !isSafeReturnPath(request.returnTo)) {
      throw new GatehouseError('invalid_request', 'returnTo must be a same-origin relative path', {
        field: 'returnTo',
      });
    }
    const now = clock.now();
    if (now - lastSweep > connectTtlMs) {
      // Expired links and authorizations are useless; drop them now and then (not on every link).
      lastSweep = now;
      await store.connectFlow.deleteExpired(now - connectTtlMs);
    }
    const id = `${request.tenant}.${createId(16)}`;
    const expiresAt = now + connectTtlMs;
    await store.connectFlow.insertLink({
      tenantId: request.tenant,
      id,
      service: request.service,
      subject: request.subject,
      scopes: request.scopes ?? [],
      returnTo: request.returnTo ?? null,
      expiresAt,
      usedAt: null,
      createdAt: now,
    });
    const sig = (await signLink(request.tenant, id, request.service, request.subject, expiresAt)).toString('base64url');
    return { id, authorizeUrl: `${deps.publicUrl}/connect/${encodeURIComponent(id)}?sig=${sig}`, expiresAt };
  }

  /**
   * The callback's work once its state is consumed: checks the response (`iss`, RFC 9207), exchanges the code,
   * discovers per-connection variables, and saves the connection, or holds the tokens for the site chooser.
   * A refusal by the provider carries its `error_description`, scrubbed of this request's secrets.
   */
  async function exchangeCode(
    tenant: string,
    stateHash: string,
    state: string,
    pending: PendingAuthorizationRecord,
    params: URLSearchParams,
    cookies: Readonly<Record<string, string>>,
  ): Promise<CompletedConnection | SiteChoice> {
    const auth = await serviceOf(tenant, pending.service);
    const server = await serverOf(tenant, pending.service, auth);
    const client = await clientOf(tenant, pending.service, auth);
    let validated: URLSearchParams;
    try {
      validated = validateCallback(server, { client_id: auth.clientId }, params, state);
    } catch (error) {
      await deps.onSecurityEvent?.({
        tenant,
        event: 'oauth_state_rejected',
        decision: 'deny',
        subject: pending.subject,
        code: (error as GatehouseError).code,
        detail: String((error as GatehouseError).details?.['reason'] ?? 'invalid_response'),
        target: `service:${pending.service}`,
      });
      throw withProviderDescription(error, []);
    }
    const verifier = await sealer.decrypt(
      { tenantId: tenant, owner: `authorization:${stateHash}`, field: 'code_verifier' },
      pending.codeVerifier,
    );
    let exchanged: TokenSet;
    try {
      const response = await authorizationCodeRequest(server.metadata, client, validated, redirectUri, verifier, {
        resource: auth.resource,
        pkce: auth.pkce !== false,
        ...requestOptions,
      });
      exchanged = await processAuthorizationCodeResponse(server.metadata, client, response, clock);
    } catch (error) {
      // invalid_client, in the body or as a 401 challenge (RFC 6749 §5.2).
      if (
        error instanceof GatehouseError &&
        (error.details['error'] === 'invalid_client' || error.details['status'] === 401)
      ) {
        await deps.refuseClient?.(tenant, pending.service, client.clientId);
      }
      throw withProviderDescription(error, [validated.get('code'), verifier, client.clientSecret]);
    }
    const discovered = await discoverVariables(auth, exchanged, pending.scopes);
    if (!('sites' in discovered)) return finishConnection(tenant, pending, discovered);
    const expiresAt = clock.now() + connectTtlMs;
    const sealed = await sealer.encrypt(
      { tenantId: tenant, owner: `authorization:${stateHash}`, field: 'site_choice' },
      JSON.stringify(discovered),
    );
    await store.connectFlow.holdSiteChoice(tenant, stateHash, sealed, expiresAt);
    return {
      tenant,
      service: pending.service,
      subject: pending.subject,
      sites: discovered.sites,
      state,
      cookie: {
        name: cookieNameOf(stateHash),
        value: cookies[cookieNameOf(stateHash)] as string,
        maxAgeSeconds: connectTtlMs / 1000,
      },
    };
  }

  return {
    redirectUri,

    createLink,

    inspectLink,

    /** `/connect/<id>?sig=` for a caller that need not decide who opens it: `inspectLink`, then `startAuthorization`. */
    async openLink(id: string, sig: string | null): Promise<StartedAuthorization> {
      return startAuthorization(await inspectLink(id, sig));
    },

    startAuthorization,

    /** Whether `Secure` belongs on the session cookie (the public URL is https). */
    secureCookie,

    /**
     * `/oauth/callback`: finds the pending authorization by `state`, consumes it (single use), checks that this
     * browser session started it (OA-04), validates the response (`iss`, RFC 9207), exchanges the code and stores
     * the tokens encrypted, or, for an Atlassian account with several sites, holds them for the site chooser
     * (`SiteChoice`; the same chooser again when the callback is loaded again before the choice). Any state problem
     * is `oauth_state_invalid` with an audit event and no token request; a callback that failed once says so when
     * loaded again (not "already completed"), and `retryLink` offers a fresh link.
     */
    async completeCallback(
      params: URLSearchParams,
      cookies: Readonly<Record<string, string>>,
    ): Promise<CompletedConnection | SiteChoice> {
      const states = params.getAll('state');
      const state = states[0];
      if (states.length !== 1 || state === undefined) return reject(undefined, 'missing_state');
      const bound = await boundAuthorization(state, cookies);
      if ('rejected' in bound) return reject(bound.tenant, bound.rejected, bound.subject);
      const { tenant, stateHash, pending } = bound;
      const now = clock.now();
      if (!(await store.connectFlow.consumeAuthorization(tenant, stateHash, now))) {
        if (pending.consumedAt !== null && pending.siteChoice !== null && pending.expiresAt > now) {
          return siteChoiceOf(tenant, stateHash, state, pending, cookies[cookieNameOf(stateHash)] as string);
        }
        if (pending.consumedAt !== null && pending.failure !== null) {
          // Not "already completed": it never did (a reload of the failure page, or the browser going back).
          return reject(
            tenant,
            'failed_state',
            pending.subject,
            `This authorization did not complete (${pending.failure}); start again from a new connect link`,
          );
        }
        return reject(tenant, pending.consumedAt === null ? 'expired_state' : 'replayed_state', pending.subject);
      }
      try {
        return await exchangeCode(tenant, stateHash, state, pending, params, cookies);
      } catch (error) {
        // Remembered so a reload of this callback says that it failed, and why, and offers a fresh link.
        await store.connectFlow.recordFailure(tenant, stateHash, failureOf(error)).catch(() => undefined);
        throw error;
      }
    },

    /**
     * The site chooser's answer (`POST /oauth/callback/site`): `site` must be one of the sites held for this
     * browser's authorization (else `invalid_request` naming the field, recorded as `unknown_site`, and the choice
     * stays open); the choice is taken once and the connection saved with that site as its `cloudId`.
     */
    async chooseSite(
      state: string | null,
      site: string | null,
      cookies: Readonly<Record<string, string>>,
    ): Promise<CompletedConnection> {
      const bound = await boundAuthorization(state, cookies);
      if ('rejected' in bound) return reject(bound.tenant, bound.rejected, bound.subject);
      const { tenant, stateHash, pending } = bound;
      const gone = () =>
        new GatehouseError(
          'oauth_state_invalid',
          'There is no site left to choose for this authorization (it was chosen already, or 10 minutes passed); start again from a new connect link',
          { reason: 'no_site_choice' },
        );
      const now = clock.now();
      if (pending.siteChoice === null || pending.expiresAt <= now) throw gone();
      const held = await openSiteChoice(tenant, stateHash, pending.siteChoice);
      const chosen = held.sites.find((candidate) => candidate.id === site);
      if (chosen === undefined) {
        await deps.onSecurityEvent?.({
          tenant,
          event: 'oauth_state_rejected',
          decision: 'deny',
          subject: pending.subject,
          code: 'invalid_request',
          detail: 'unknown_site',
          target: `service:${pending.service}`,
        });
        const shown = (site ?? '').replace(/[^\w.-]/g, '?').slice(0, 64);
        throw new GatehouseError(
          'invalid_request',
          `site: '${shown}' is not one of the ${held.sites[0]?.kind === 'organisation' ? 'organisations' : 'sites'} this account can reach (${held.sites
            .map((s) => s.name)
            .join(', ')}); go back and choose one of them`,
          { field: 'site' },
        );
      }
      if (!(await store.connectFlow.takeSiteChoice(tenant, stateHash, now))) throw gone();
      const tokens = { ...held.tokens, variables: { ...held.tokens.variables, [variableOfSite(chosen)]: chosen.id } };
      return finishConnection(tenant, pending, tokens, chosen);
    },

    /**
     * A fresh connect link for the same service, subject, scopes and return path, offered on the page of a
     * callback that failed or expired, to the browser that started it (its session cookie); undefined for any
     * other callback (unknown state, another browser, or one that completed).
     */
    async retryLink(params: URLSearchParams, cookies: Readonly<Record<string, string>>): Promise<string | undefined> {
      const bound = await boundAuthorization(params.get('state'), cookies);
      if ('rejected' in bound) return undefined;
      const { tenant, pending } = bound;
      const expired = pending.consumedAt === null && pending.expiresAt <= clock.now();
      if (pending.failure === null && !expired) return undefined;
      const link = await store.connectFlow.getLink(tenant, pending.linkId);
      const fresh = await createLink({
        tenant,
        service: pending.service,
        subject: pending.subject,
        ...(link !== undefined && link.scopes.length > 0 ? { scopes: link.scopes } : {}),
        ...(link?.returnTo == null ? {} : { returnTo: link.returnTo }),
      });
      return fresh.authorizeUrl;
    },

    /**
     * Deletes a connection after revoking its tokens upstream (RFC 7009) where the server has a revocation
     * endpoint: the refresh token first (which usually ends the grant), then the access token. A failed
     * revocation does not keep the connection; it is reported in `revoked: false`. The `connect` record names
     * `actor` (who disconnected it) as its subject; the connection is its target.
     */
    async disconnect(tenant: string, id: string, actor: string): Promise<{ revoked: boolean }> {
      const connection = await store.connections.get(tenant, id);
      if (connection === undefined) throw new GatehouseError('not_found', `No connection ${id} in tenant ${tenant}`);
      let revoked = false;
      let auth: OAuthServiceAuth | undefined;
      try {
        auth = await deps.findService(tenant, connection.service);
      } catch {
        // A server whose authorization cannot be discovered now: the connection is deleted without revocation.
        auth = undefined;
      }
      if (auth !== undefined) {
        try {
          const server = await serverOf(tenant, connection.service, auth);
          const client = await clientOf(tenant, connection.service, auth);
          const owner = `connection:${id}`;
          for (const field of ['refresh_token', 'access_token'] as const) {
            const blob = field === 'refresh_token' ? connection.refreshToken : connection.accessToken;
            if (blob === null) continue;
            const token = await sealer.decrypt({ tenantId: tenant, owner, field }, blob);
            const response = await revocationRequest(server.metadata, client, token, field, {
              ...requestOptions,
            });
            if (response === undefined) break;
            await processRevocationResponse(response);
            revoked = true;
          }
        } catch {
          revoked = false;
        }
      }
      await store.connections.delete(tenant, id);
      await deps.onSecurityEvent?.({
        tenant,
        event: 'connect',
        decision: 'allow',
        subject: actor,
        detail: revoked ? 'disconnected_revoked' : 'disconnected',
        target: `connection:${id}`,
      });
      return { revoked };
    },

    /** Decrypts the access token of a connection for one upstream call. */
    async readAccessToken(connection: ConnectionRecord): Promise<string> {
      if (connection.accessToken === null) {
        throw new GatehouseError('reauth_required', `Connection ${connection.id} has no access token`, {
          service: connection.service,
        });
      }
      return sealer.decrypt(
        { tenantId: connection.tenantId, owner: `connection:${connection.id}`, field: 'access_token' },
        connection.accessToken,
      );
    },

    /**
     * The client-credentials token of a service (RFC 6749 §4.4), kept encrypted as the connection of subject
     * `@client`; a new one is requested when it is missing or expires within `marginMs`. One request per
     * service at a time in this process.
     */
    async clientCredentialsConnection(tenant: string, service: string, marginMs = 30_000): Promise<ConnectionRecord> {
      const current = await store.connections.find(tenant, service, clientCredentialsSubject);
      if (
        current?.status === 'active' &&
        current.accessToken !== null &&
        (current.accessExpiresAt === null || current.accessExpiresAt - marginMs > clock.now())
      ) {
        return current;
      }
      const key = `${tenant}\u0000${service}`;
      let pending = clientTokens.get(key);
      if (pending === undefined) {
        pending = (async () => {
          const auth = await serviceOf(tenant, service);
          const server = await serverOf(tenant, service, auth);
          const client = await clientOf(tenant, service, auth);
          const response = await clientCredentialsRequest(server.metadata, client, auth.scopes, {
            resource: auth.resource,
            ...requestOptions,
          });
          const tokens = await processClientCredentialsResponse(server.metadata, client, response, clock);
          return saveConnection(tenant, service, clientCredentialsSubject, tokens, auth.scopes);
        })().finally(() => clientTokens.delete(key));
        clientTokens.set(key, pending);
      }
      return pending;
    },
  };
}

/** What the site chooser holds between the callback and the person's choice (sealed; see `holdSiteChoice`). */
interface HeldSiteChoice {
  readonly tokens: TokenSet;
  readonly sites: readonly AccessibleSite[];
}

/** SHA-256 hex: how states and session cookies are stored (both carry 256 random bits; no salt needed). */
function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** One cookie per pending authorization, so two connect flows open in one browser do not overwrite each other. */
export function cookieNameOf(stateHash: string): string {
  return `${cookiePrefix}${stateHash.slice(0, 16)}`;
}

function messageOf(detail: string): string {
  switch (detail) {
    case 'missing_state':
      return 'The callback has no state parameter (or more than one)';
    case 'expired_state':
      return 'This authorization has expired (after 10 minutes); start again from a new connect link';
    case 'replayed_state':
      return 'This authorization was already completed; start again from a new connect link';
    case 'session_mismatch':
      return 'This authorization was started in another browser session; open the connect link in this browser';
    default:
      return 'The callback state is not known to this gateway';
  }
}
