import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { AdapterConstructor, InteractionDetails, ProviderClient } from 'oidc-provider';
import providerRequestStorage from 'oidc-provider/lib/helpers/als.js';
import type { AuditLog } from '../audit/index.ts';
import { type Clock, createId, disableStorageWhenIdle, GatehouseError, type TenantConfig } from '../core/index.ts';
import type { OAuthConsentRecord, OAuthServerRepository } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { GuardedFetch } from './create-guarded-fetch.ts';
import { createProviderAdapter } from './create-provider-adapter.ts';
import { errorPageHeaders, renderErrorPage } from './render-error-page.ts';

/** The one scope a toolset's tokens carry: the right to use the toolset's tools as the signed-in user. */
export const toolsetScope = 'mcp';
const oidcScopes = new Set(['openid', 'offline_access', toolsetScope]);

export interface AuthServerOptions {
  /** `https://gw.example.com`: issuers are `{publicUrl}/oauth/{tenant}`, resources `{publicUrl}/mcp/{tenant}/{toolset}`. */
  readonly publicUrl: string;
  /**
   * The tenant's configuration as served now (tenants and their toolsets come and go at run time, issue 14): a
   * provider is built for the configuration it was asked with and rebuilt when that changes.
   */
  readonly tenantOf: (tenant: string) => TenantConfig | undefined;
  readonly repository: OAuthServerRepository;
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  readonly clock: Clock;
  readonly audit: Pick<AuditLog, 'recordSecurityEvent'>;
  /** Fetches Client ID Metadata Documents (through the SSRF guard). */
  readonly fetch: GuardedFetch;
  /** How long a verified access token is trusted before the store is read again (config `clientKeyCache.ttlSeconds`). */
  readonly cacheMs: number;
  /** Provider failures (`server_error`), for the log. */
  readonly onError?: (error: unknown) => void;
}

/** What the gateway learns from a valid access token. */
export interface VerifiedAccessToken {
  readonly tenant: string;
  readonly toolset: string;
  readonly userId: string;
  readonly clientId: string;
  readonly grantId: string;
}

/** A pending authorization as the consent page shows it. */
export interface PendingConsent {
  readonly uid: string;
  readonly tenant: string;
  readonly toolset: string;
  readonly client: { readonly id: string; readonly name: string; readonly verified: boolean };
  readonly scopes: readonly string[];
  /** Where the browser goes back to with the answer (checked against the client's registration by the provider). */
  readonly redirectUri: string;
  /** The consent the user gave this client for this toolset before, if any. */
  readonly remembered: OAuthConsentRecord | undefined;
}

export interface AuthServer {
  /** Whether `tenant` runs an authorization server (some toolset accepts `oauth`). */
  serves(tenant: string): boolean;
  issuerOf(tenant: string): string;
  /** The RFC 8707 resource (and RFC 9728 `resource`) of a toolset: its MCP URL. */
  resourceOf(tenant: string, toolset: string): string;
  /**
   * Serves the provider's endpoints; `path` is the request path below the issuer (`/auth`, `/token`, ...);
   * `clientAddress` is the address the HTTP layer resolved, the only one the provider sees (its `ctx.ip`).
   */
  handle(tenant: string, path: string, req: IncomingMessage, res: ServerResponse, clientAddress: string): Promise<void>;
  /** Checks an access token by the SHA-256 of its value; undefined when unknown, expired or revoked. */
  verifyAccessToken(tenant: string, tokenHash: string): Promise<VerifiedAccessToken | undefined>;
  /**
   * The interaction of this browser (the provider's interaction cookie) for `uid`. A request that is not one the
   * consent page can show (no `resource`, several) is answered here with the OAuth error sent to the client's
   * redirect URI, and undefined is returned.
   */
  openInteraction(
    tenant: string,
    uid: string,
    req: IncomingMessage,
    res: ServerResponse,
    userId: string,
  ): Promise<PendingConsent | undefined>;
  /** Finishes the interaction: `allow` signs the user in, grants the toolset and remembers the consent. */
  decideInteraction(
    consent: PendingConsent,
    decision: 'allow' | 'deny',
    userId: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void>;
  consentsOf(tenant: string, userId: string): Promise<readonly OAuthConsentRecord[]>;
  /**
   * The client of a pending authorization request, by its interaction id (what the sign-in page shows before
   * anyone is signed in); undefined when there is no such request (expired, or not this tenant's).
   */
  clientOfInteraction(tenant: string, uid: string): Promise<PendingConsent['client'] | undefined>;
  /**
   * Forgets the consent (user, client, toolset) and revokes the grants it led to: every code, access and refresh
   * token the client holds for that toolset as that user. The client's grants for other toolsets stay.
   */
  revokeConsent(tenant: string, userId: string, consentId: string): Promise<void>;
}

interface TenantKeys {
  readonly jwk: Record<string, unknown>;
  readonly cookieKeys: readonly string[];
}

/**
 * Gatehouse as the OAuth 2.1 authorization server of its MCP clients, on `oidc-provider` (one provider per
 * tenant, issuer `{publicUrl}/oauth/{tenant}`): authorization code with PKCE (S256) only, one RFC 8707 resource per
 * authorization (a toolset's MCP URL) bound into the token as its audience, `iss` in authorization responses
 * (RFC 9207), opaque access tokens, rotating refresh tokens whose reuse revokes the grant, revocation (RFC 7009),
 * dynamic registration (RFC 7591, per tenant), clients from the config, Client ID Metadata Documents fetched
 * through the SSRF guard. Storage is the Gatehouse store (`createProviderAdapter`), so every process serves every
 * step. Sign-in and consent are Gatehouse's own pages (src/http), reached through the provider's interactions.
 */
/**
 * oidc-provider runs every request in its AsyncLocalStorage (one per process, for every authorization server);
 * between its requests nothing reads it, so it is off while none is served (after one sign-in every promise of
 * every tool call paid for the hooks it turns on).
 */
const whileServingProvider = disableStorageWhenIdle(providerRequestStorage);

export function createAuthServer(options: AuthServerOptions): AuthServer {
  const { publicUrl, repository, vault, clock, audit } = options;
  const tenants = { get: options.tenantOf };
  const providers = new Map<
    string,
    {
      readonly config: TenantConfig;
      readonly serving: Promise<{ provider: Provider; serve: ReturnType<Provider['callback']> }>;
    }
  >();
  const tokenCache = new Map<string, { token: VerifiedAccessToken | undefined; until: number }>();
  const publicOrigin = new URL(publicUrl);
  const basePath = publicOrigin.pathname.replace(/\/$/, '');

  const issuerOf = (tenant: string) => `${publicUrl}/oauth/${tenant}`;
  const resourceOf = (tenant: string, toolset: string) => `${publicUrl}/mcp/${tenant}/${toolset}`;

  function oauthToolsetOf(tenant: string, resource: string): string | undefined {
    const prefix = `${publicUrl}/mcp/${tenant}/`;
    if (!resource.startsWith(prefix)) return undefined;
    const id = resource.slice(prefix.length);
    const toolset = tenants.get(tenant)?.toolsets.find((t) => t.id === id);
    return toolset?.inbound.includes('oauth') ? toolset.id : undefined;
  }

  function serves(tenant: string): boolean {
    return tenants.get(tenant)?.toolsets.some((t) => t.inbound.includes('oauth')) ?? false;
  }

  async function keysOf(tenant: string): Promise<TenantKeys> {
    const scope = { tenantId: tenant, owner: 'oauth-server', field: 'keys' };
    const fresh: TenantKeys = {
      jwk: {
        ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
        kid: createId(8),
        alg: 'ES256',
        use: 'sig',
      },
      cookieKeys: [randomBytes(32).toString('base64url')],
    };
    const sealed = await repository.ensureKeys(tenant, await vault.encrypt(scope, JSON.stringify(fresh)), clock.now());
    return JSON.parse(await vault.decrypt(scope, sealed)) as TenantKeys;
  }

  function record(
    tenant: string,
    event: 'oauth_denied' | 'oauth_consent' | 'oauth_grant_revoked',
    fields: {
      decision: 'allow' | 'deny';
      detail?: string;
      clientId?: string;
      subject?: string;
      toolset?: string;
      target?: string;
    },
  ): void {
    audit
      .recordSecurityEvent({
        tenant,
        event,
        decision: fields.decision,
        ...(fields.detail === undefined ? {} : { detail: fields.detail }),
        ...(fields.clientId === undefined ? {} : { clientKey: `oauth:${fields.clientId}` }),
        ...(fields.subject === undefined ? {} : { subject: fields.subject }),
        ...(fields.toolset === undefined ? {} : { toolset: fields.toolset }),
        ...(fields.target === undefined ? {} : { target: fields.target }),
      })
      .catch((error: unknown) => options.onError?.(error));
  }

  async function buildProvider(tenant: TenantConfig): Promise<Provider> {
    // Loaded when a tenant is first served, not with the module: on Node 20 oidc-provider prints an "Unsupported
    // runtime" warning when it loads, which every CLI command (providers list, check) printed otherwise.
    const { default: Provider, errors } = await import('oidc-provider');
    const config = tenant.oauthServer;
    const keys = await keysOf(tenant.id);
    const adapter: AdapterConstructor = createProviderAdapter({ tenantId: tenant.id, repository, vault, clock });
    const secure = publicOrigin.protocol === 'https:';
    const issuerPath = `${basePath}/oauth/${tenant.id}`;
    const provider = new Provider(issuerOf(tenant.id), {
      adapter,
      clients: config.clients.map((client) => ({
        client_id: client.clientId,
        client_name: client.name,
        redirect_uris: [...client.redirectUris],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        ...(client.clientSecret === undefined
          ? { token_endpoint_auth_method: 'none', application_type: 'native' }
          : { token_endpoint_auth_method: 'client_secret_basic', client_secret: client.clientSecret }),
      })),
      clientDefaults: {
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        id_token_signed_response_alg: 'ES256',
      },
      // RFC 7591 allows a registration without `application_type` (then `web`), and oidc-provider lets only native
      // clients use a loopback redirect on another port (RFC 8252 §7.3). VS Code registers `http://127.0.0.1/`
      // (beside https ones) that way and comes back on whatever port was free; Cursor registers a private-use scheme
      // (`cursor://...`), which a web client may not have at all. A registration that did not say, has a loopback or
      // private-use redirect URI, is taken as the native app it is. (`software_id`,
      // an RFC 7591 field stored as is, is listed only because the hook runs for listed properties.)
      extraClientMetadata: {
        properties: ['software_id'],
        validator: (ctx: unknown, _key: string, _value: unknown, metadata: Record<string, unknown>) => {
          const oidc = (ctx as { oidc?: { route?: string; body?: Record<string, unknown> } } | undefined)?.oidc;
          if (oidc?.route !== 'registration') return;
          const name = metadata['client_name'];
          if (typeof name === 'string' && name.length > maxClientNameLength) {
            throw new errors.InvalidClientMetadata(`client_name is longer than ${maxClientNameLength} characters`);
          }
          const uris = metadata['redirect_uris'];
          const list = Array.isArray(uris) ? uris.map(String) : [];
          // OAuth 2.1 §2.3.1 / MCP authorization: a redirect URI is https, loopback http, or a private-use scheme;
          // a plain http one elsewhere would hand the code to anyone on the path.
          const plainHttp = list.find((uri) => /^http:/i.test(uri) && !isLoopbackRedirect(uri));
          if (plainHttp !== undefined) {
            throw new errors.InvalidClientMetadata(
              `redirect_uris: ${plainHttp} must use https unless on a loopback host (127.0.0.1, [::1], localhost)`,
            );
          }
          if (oidc.body?.['application_type'] !== undefined) return;
          if (list.some((uri) => isLoopbackRedirect(uri) || !/^https?:/i.test(uri))) {
            metadata['application_type'] = 'native';
          }
        },
      },
      findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
      jwks: { keys: [keys.jwk] },
      cookies: {
        keys: [...keys.cookieKeys],
        long: { signed: true, secure, sameSite: 'lax' },
        short: { signed: true, secure, sameSite: 'lax' },
      },
      pkce: { required: () => true },
      responseTypes: ['code'],
      // `mcp` is listed so clients that register the scope the 401 challenge names (the MCP SDKs do) are accepted;
      // the grant carries it both as a resource scope of the toolset and as the client's requested scope.
      scopes: ['openid', 'offline_access', toolsetScope],
      claims: { openid: ['sub'] },
      rotateRefreshToken: true,
      // Refresh tokens for every client allowed the grant (MCP clients do not ask for offline_access), and tokens
      // do not end with the provider's browser session: the user's Gatehouse session is checked at each consent.
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      expiresWithSession: async () => false,
      // Only the grant the interaction just made counts: every authorization goes through Gatehouse's
      // interaction page, which checks the Gatehouse sign-in and the remembered consent each time.
      loadExistingGrant: async (ctx: { oidc: { result?: { consent?: { grantId?: string } } } }) => {
        const grantId = ctx.oidc.result?.consent?.grantId;
        return grantId === undefined ? undefined : provider.Grant.find(grantId);
      },
      ttl: {
        AccessToken: config.accessTokenTtlSeconds,
        AuthorizationCode: 60,
        IdToken: 600,
        Interaction: 600,
        Session: 600,
        Grant: config.refreshTokenTtlSeconds,
        RefreshToken: config.refreshTokenTtlSeconds,
      },
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `${issuerPath}/interaction/${interaction.uid}`,
      },
      features: {
        devInteractions: { enabled: false },
        registration: { enabled: config.dynamicRegistration },
        revocation: { enabled: true },
        rpInitiatedLogout: { enabled: false },
        clientIdMetadataDocument: { enabled: config.clientIdMetadataDocuments, ack: 'draft-02' },
        resourceIndicators: {
          enabled: true,
          defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx, resource) => {
            if (oauthToolsetOf(tenant.id, resource) === undefined) {
              throw new errors.InvalidTarget('resource is not an MCP endpoint of this tenant that accepts OAuth');
            }
            return {
              scope: toolsetScope,
              audience: resource,
              accessTokenTTL: config.accessTokenTtlSeconds,
              accessTokenFormat: 'opaque',
            };
          },
        },
      },
      // Gatehouse's own page instead of the provider's default (which loads a web font from a third party).
      renderError: async (ctx, out) => {
        for (const [name, value] of Object.entries(errorPageHeaders)) ctx.set(name, value);
        ctx.type = 'html';
        ctx.body = renderErrorPage(out);
      },
      fetch: options.fetch,
      fetchResponseBodyLimits: { 'client_id metadata document': 5 * 1024 },
    });
    // URLs are built from the public URL (below), never from what a client sends as Host.
    provider.proxy = true;
    // One record per refused request: the provider can emit the same error twice for one request (an error
    // result of an interaction is raised again by the resumed authorization).
    const recorded = new WeakSet<object>();
    const clientOf = (ctx: { oidc?: { client?: { clientId: string } } } | undefined) => ctx?.oidc?.client?.clientId;
    for (const event of [
      'authorization.error',
      'grant.error',
      'registration_create.error',
      'revocation.error',
      'backchannel.error',
    ]) {
      provider.on(event, ((ctx: { oidc?: { client?: { clientId: string } } }, error: { error?: string }) => {
        if (recorded.has(ctx)) return;
        recorded.add(ctx);
        const clientId = clientOf(ctx);
        record(tenant.id, 'oauth_denied', {
          decision: 'deny',
          detail: error.error ?? 'error',
          ...(clientId === undefined ? {} : { clientId }),
          target: event.slice(0, event.indexOf('.')),
        });
      }) as never);
    }
    provider.on('grant.revoked', ((ctx: { oidc?: { client?: { clientId: string } } }, grantId: string) => {
      const clientId = clientOf(ctx);
      record(tenant.id, 'oauth_grant_revoked', {
        decision: 'allow',
        detail: ctx?.oidc ? 'refresh_token_reuse_or_revocation' : 'revoked',
        ...(clientId === undefined ? {} : { clientId }),
        target: `grant:${grantId.slice(0, 8)}`,
      });
      tokenCache.clear();
    }) as never);
    provider.on('server_error', ((_ctx: unknown, error: unknown) => options.onError?.(error)) as never);
    return provider;
  }

  async function providerOf(tenant: string): Promise<Provider> {
    return (await servingOf(tenant)).provider;
  }

  function servingOf(tenant: string) {
    const config = tenants.get(tenant);
    if (config === undefined || !serves(tenant)) {
      providers.delete(tenant);
      return Promise.reject(new GatehouseError('not_found', 'No authorization server for this tenant'));
    }
    const cached = providers.get(tenant);
    if (cached !== undefined && cached.config === config) return cached.serving;
    // New, or its configuration changed (clients, toolsets): a provider over the same stored keys and grants.
    const serving = buildProvider(config).then((built) => ({ provider: built, serve: built.callback() }));
    const entry = { config, serving };
    serving.catch(() => {
      if (providers.get(tenant) === entry) providers.delete(tenant);
    });
    providers.set(tenant, entry);
    return serving;
  }

  return {
    serves,
    issuerOf,
    resourceOf,

    async handle(tenant, path, req, res, clientAddress) {
      const { serve } = await servingOf(tenant);
      const query = (req.url ?? '').indexOf('?');
      const search = query === -1 ? '' : (req.url ?? '').slice(query);
      const mutable = req as IncomingMessage & { originalUrl?: string };
      mutable.originalUrl = `${basePath}/oauth/${tenant}${path}${search}`;
      mutable.url = `${path}${search}`;
      req.headers['x-forwarded-proto'] = publicOrigin.protocol.slice(0, -1);
      req.headers['x-forwarded-host'] = publicOrigin.host;
      // The provider trusts these headers (`proxy = true`); what a client sent is never what it reads.
      req.headers['x-forwarded-for'] = clientAddress;
      await whileServingProvider(
        () =>
          new Promise<void>((resolve) => {
            res.once('finish', resolve);
            res.once('close', resolve);
            serve(req, res);
          }),
      );
    },

    async verifyAccessToken(tenant, tokenHash) {
      const now = clock.monotonic();
      const key = `${tenant}\u0000${tokenHash}`;
      const cached = tokenCache.get(key);
      if (cached !== undefined && cached.until > now) return cached.token;
      const found = await repository.find(tenant, 'AccessToken', tokenHash);
      const valid =
        found !== undefined &&
        (found.expiresAt === null || found.expiresAt > clock.now()) &&
        found.aud !== null &&
        found.accountId !== null &&
        found.clientId !== null &&
        found.grantId !== null;
      const toolset = valid ? oauthToolsetOf(tenant, found.aud as string) : undefined;
      const token: VerifiedAccessToken | undefined =
        valid && toolset !== undefined
          ? {
              tenant,
              toolset,
              userId: found.accountId as string,
              clientId: found.clientId as string,
              grantId: found.grantId as string,
            }
          : undefined;
      if (options.cacheMs > 0) {
        if (tokenCache.size > 10_000) tokenCache.clear();
        const lifetime =
          found?.expiresAt == null ? options.cacheMs : Math.min(options.cacheMs, found.expiresAt - clock.now());
        tokenCache.set(key, { token, until: now + Math.max(0, lifetime) });
      }
      return token;
    },

    async clientOfInteraction(tenant, uid) {
      if (!serves(tenant)) return undefined;
      const provider = await providerOf(tenant);
      const clientId = (await provider.Interaction.find(uid))?.params['client_id'];
      if (typeof clientId !== 'string') return undefined;
      const client = await provider.Client.find(clientId);
      const verified = tenants.get(tenant)?.oauthServer.clients.some((c) => c.clientId === clientId) ?? false;
      return { id: clientId, name: client?.clientName ?? clientId, verified };
    },

    async openInteraction(tenant, uid, req, res, userId) {
      const provider = await providerOf(tenant);
      let details: InteractionDetails;
      try {
        details = await provider.interactionDetails(req, res);
      } catch {
        throw new GatehouseError(
          'not_found',
          'This sign-in request has expired or belongs to another browser; start again from the app',
        );
      }
      if (details.uid !== uid) {
        throw new GatehouseError(
          'not_found',
          'This sign-in request has expired or belongs to another browser; start again from the app',
        );
      }
      const clientId = details.params.client_id ?? '';
      const resources = details.params.resource;
      const resource = typeof resources === 'string' ? resources : undefined;
      const toolset = resource === undefined ? undefined : oauthToolsetOf(tenant, resource);
      if (toolset === undefined) {
        const error = resources === undefined ? 'invalid_request' : 'invalid_target';
        // Recorded once, by the provider's `authorization.error` when it sends this error to the client.
        await provider.interactionFinished(
          req,
          res,
          {
            error,
            error_description:
              resources === undefined
                ? 'the resource parameter (RFC 8707) is required: the MCP endpoint URL'
                : 'exactly one resource, an MCP endpoint of this tenant, must be requested',
          },
          { mergeWithLastSubmission: false },
        );
        return undefined;
      }
      const client: ProviderClient | undefined = await provider.Client.find(clientId);
      const verified = tenants.get(tenant)?.oauthServer.clients.some((c) => c.clientId === clientId) ?? false;
      return {
        uid,
        tenant,
        toolset,
        client: { id: clientId, name: client?.clientName ?? clientId, verified },
        scopes: (details.params.scope ?? '').split(' ').filter(Boolean),
        redirectUri: typeof details.params.redirect_uri === 'string' ? details.params.redirect_uri : '',
        remembered: await repository.findConsent(tenant, userId, clientId, toolset),
      };
    },

    async decideInteraction(consent, decision, userId, req, res) {
      const provider = await providerOf(consent.tenant);
      if (decision === 'deny') {
        record(consent.tenant, 'oauth_consent', {
          decision: 'deny',
          detail: 'declined',
          clientId: consent.client.id,
          subject: userId,
          toolset: consent.toolset,
        });
        await provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'the user declined' },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      const grant = new provider.Grant({ accountId: userId, clientId: consent.client.id });
      for (const scope of consent.scopes) if (oidcScopes.has(scope)) grant.addOIDCScope(scope);
      grant.addResourceScope(resourceOf(consent.tenant, consent.toolset), toolsetScope);
      const grantId = await grant.save();
      if (consent.remembered === undefined) {
        record(consent.tenant, 'oauth_consent', {
          decision: 'allow',
          detail: 'granted',
          clientId: consent.client.id,
          subject: userId,
          toolset: consent.toolset,
        });
      }
      await repository.upsertConsent({
        tenantId: consent.tenant,
        id: createId(12),
        userId,
        clientId: consent.client.id,
        clientName: consent.client.name,
        toolset: consent.toolset,
        scopes: [toolsetScope],
        createdAt: clock.now(),
      });
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: userId }, consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
    },

    consentsOf: (tenant, userId) => repository.listConsents(tenant, userId),

    async revokeConsent(tenant, userId, consentId) {
      const removed = await repository.deleteConsent(tenant, userId, consentId);
      if (removed === undefined) throw new GatehouseError('not_found', `No consent ${consentId}`);
      await repository.revokeGrantsFor(tenant, userId, removed.clientId, resourceOf(tenant, removed.toolset));
      tokenCache.clear();
      record(tenant, 'oauth_consent', {
        decision: 'allow',
        detail: 'revoked',
        clientId: removed.clientId,
        subject: userId,
        toolset: removed.toolset,
      });
    },
  };
}

/** Longest `client_name` a registration may give: the consent page shows it, and DCR is unauthenticated. */
export const maxClientNameLength = 100;

/** An `http` redirect URI on a loopback host (RFC 8252 §7.3), which only an app on the user's machine receives. */
function isLoopbackRedirect(uri: string): boolean {
  const url = URL.parse(uri);
  return url?.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}
