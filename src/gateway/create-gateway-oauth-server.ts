import type { AuditLog } from '../audit/index.ts';
import {
  type AuthServer,
  createAuthServer,
  createGuardedFetch,
  type GuardedFetch,
  toolsetScope,
} from '../auth-server/index.ts';
import { addressBudgetOf, type Clock, type Config, GatehouseError, type TenantConfig } from '../core/index.ts';
import type { Limiter, Store } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { TenantRuntime } from './build-tenants.ts';
import type { Caller, ConsentView, GatewayOAuthServer, SignedInUser } from './contract.ts';

export interface GatewayOAuthServerOptions {
  readonly config: Config;
  readonly tenants: ReadonlyMap<string, TenantRuntime>;
  /** The tenants' configurations as served now (they come and go at run time, issue 14). */
  readonly tenantConfigs: { get(id: string): TenantConfig | undefined; list(): readonly TenantConfig[] };
  readonly store: Store;
  readonly vault: Vault;
  readonly clock: Clock;
  readonly audit: AuditLog;
  /** Fetch of Client ID Metadata Documents; the SSRF-guarded one over `unsafeAllowPrivateUpstreams` by default. */
  readonly fetch?: GuardedFetch;
  /** Bounds unauthenticated dynamic registration (per address and per tenant); the gateway's shared limiter. */
  readonly limiter: Pick<Limiter, 'admit'>;
  readonly onError?: (error: unknown) => void;
}

export interface GatewayOAuth {
  readonly surface: GatewayOAuthServer;
  /**
   * The caller of an access token at `/mcp/{tenant}/{toolset}` (by the SHA-256 of the token), or undefined when it
   * is not a valid token of this tenant. A token issued for another toolset throws `unauthenticated`.
   */
  callerOf(tenant: string, toolset: string, tokenHash: string): Promise<Caller | undefined>;
  /** The challenge details of a toolset accepting OAuth (RFC 9728 `resource_metadata`, scope). */
  challengeOf(tenant: string, toolset: string): { resourceMetadata: string; scope: string } | undefined;
  /**
   * Deletes expired authorization-server rows (codes, tokens, grants, provider sessions, interactions) of every
   * tenant: batches of `sweepBatch`, at most `sweepBatches` per call, so one sweep's work is bounded whatever the
   * backlog (the next sweep goes on). Returns how many rows went. Lookups never accept an expired row anyway.
   */
  sweepExpired(): Promise<number>;
}

/**
 * Dynamic registration (RFC 7591) needs no credential, so it is bounded: per client address and per tenant, as
 * token buckets refilled over an hour (a burst of the whole hour's budget, then one at a time as it refills).
 */
export const registrationLimits = { perAddressPerHour: 30, perTenantPerHour: 300 } as const;

/** Rows per delete statement of the expiry sweep, and statements per sweep (at most 5,000 rows per sweep). */
export const sweepBatch = 500;
export const sweepBatches = 10;

/**
 * The gateway's side of its authorization server: the surface the HTTP layer serves (provider endpoints, RFC 9728
 * metadata, the consent page's view built from the toolset's tools and the user's connections, consents), and the
 * bearer check `authenticate()` runs for access tokens.
 */
export function createGatewayOAuthServer(options: GatewayOAuthServerOptions): GatewayOAuth {
  const { config, tenants, tenantConfigs, store } = options;
  // Always built (a provider is made per tenant on first use): a tenant created at run time may accept `oauth`.
  const server: AuthServer = createAuthServer({
    publicUrl: config.publicUrl,
    tenantOf: (tenant) => tenantConfigs.get(tenant),
    repository: store.oauthServer,
    vault: options.vault,
    clock: options.clock,
    audit: options.audit,
    fetch: options.fetch ?? createGuardedFetch({ allowPrivateHosts: config.unsafeAllowPrivateUpstreams }),
    cacheMs: config.clientKeyCache.ttlSeconds * 1000,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const isShared = (tenant: string, service: string) =>
    tenantConfigs.get(tenant)?.services.some((s) => s.id === service && s.shared) ?? false;

  function acceptsOAuth(tenant: string, toolset: string): boolean {
    return (
      tenantConfigs
        .get(tenant)
        ?.toolsets.find((s) => s.id === toolset)
        ?.inbound.includes('oauth') ?? false
    );
  }

  function assertUserOf(tenant: string, user: SignedInUser): void {
    // A session of another tenant never answers for this one (MT-01).
    if (user.tenant !== tenant) throw new GatehouseError('not_found', 'No such sign-in request');
  }

  async function viewOf(
    tenant: string,
    toolset: string,
    client: ConsentView['client'],
    redirectUri: string,
    user: SignedInUser,
  ): Promise<ConsentView> {
    const runtime = tenants.get(tenant)?.toolsets.get(toolset);
    const tools = [...(runtime?.policy.tools.values() ?? [])];
    const services = [...new Set(tools.map((t) => t.service))];
    const accounts: ConsentView['accounts'][number][] = [];
    for (const service of services) {
      const auth = tenants.get(tenant)?.services.get(service)?.auth;
      if (auth?.type !== 'oauth2') continue;
      const shared = isShared(tenant, service);
      const subject = shared ? 'shared' : user.id;
      const connection = await store.connections.find(tenant, service, subject);
      accounts.push({ service, owner: shared ? 'shared' : 'you', connected: connection?.status === 'active' });
    }
    return {
      tenant,
      toolset,
      toolsetUrl: server.resourceOf(tenant, toolset),
      client,
      returnsTo: originOf(redirectUri),
      tools: tools.map((t) => ({
        name: t.name,
        title: t.tool.title,
        access: t.tool.safety === 'safe' ? ('read' as const) : ('write' as const),
      })),
      accounts,
    };
  }

  const surface: GatewayOAuthServer = {
    serves: (tenant) => server.serves(tenant),
    async handle(tenant, path, req, res, address) {
      if (req.method === 'POST' && path === '/reg' && server.serves(tenant)) {
        const decision = await options.limiter.admit([
          {
            kind: 'rate',
            key: `${tenant}:oauth_reg:addr:${addressBudgetOf(address)}`,
            limit: 'oauth_registration.address',
            perMinute: registrationLimits.perAddressPerHour / 60,
            burst: registrationLimits.perAddressPerHour,
          },
          {
            kind: 'rate',
            key: `${tenant}:oauth_reg:tenant`,
            limit: 'oauth_registration.tenant',
            perMinute: registrationLimits.perTenantPerHour / 60,
            burst: registrationLimits.perTenantPerHour,
          },
        ]);
        if (!decision.admitted) {
          res.setHeader('retry-after', String(decision.retryAfterSeconds));
          throw new GatehouseError('rate_limited', 'Too many client registrations; try again later', {
            limit: decision.limit,
            retryAfterSeconds: decision.retryAfterSeconds,
          });
        }
      }
      return server.handle(tenant, path, req, res, address);
    },

    resourceMetadata(tenant, toolset) {
      if (!acceptsOAuth(tenant, toolset) || tenants.get(tenant)?.toolsets.get(toolset) === undefined) {
        throw new GatehouseError('not_found', 'No such MCP endpoint');
      }
      return {
        resource: server.resourceOf(tenant, toolset),
        authorization_servers: [server.issuerOf(tenant)],
        scopes_supported: [toolsetScope],
        bearer_methods_supported: ['header'],
        resource_name: `Gatehouse ${tenant}/${toolset}`,
      };
    },

    rootResourceMetadata() {
      const issuers = tenantConfigs
        .list()
        .filter((t) => server.serves(t.id))
        .map((t) => server.issuerOf(t.id));
      // As before tenants could appear at run time: no tenant accepting `oauth`, no protected resource here.
      if (issuers.length === 0) throw new GatehouseError('not_found', 'No toolset accepts OAuth access tokens');
      return {
        resource: config.publicUrl,
        authorization_servers: issuers,
        scopes_supported: [toolsetScope],
        bearer_methods_supported: ['header'],
        resource_name: 'Gatehouse',
      };
    },

    async openInteraction(tenant, uid, user, req, res) {
      assertUserOf(tenant, user);
      const pending = await server.openInteraction(tenant, uid, req, res, user.id);
      if (pending === undefined) return undefined;
      if (pending.remembered !== undefined) {
        await server.decideInteraction(pending, 'allow', user.id, req, res);
        return undefined;
      }
      return viewOf(tenant, pending.toolset, pending.client, pending.redirectUri, user);
    },

    async decideInteraction(tenant, uid, user, decision, req, res) {
      assertUserOf(tenant, user);
      const pending = await server.openInteraction(tenant, uid, req, res, user.id);
      if (pending === undefined) return;
      await server.decideInteraction(pending, decision, user.id, req, res);
    },

    async consentsOf(user) {
      return (await server.consentsOf(user.tenant, user.id)).map((c) => ({
        id: c.id,
        clientId: c.clientId,
        clientName: c.clientName,
        toolset: c.toolset,
        createdAt: new Date(c.createdAt).toISOString(),
      }));
    },

    revokeConsent: (user, id) => server.revokeConsent(user.tenant, user.id, id),
    clientOfInteraction: (tenant, uid) => server.clientOfInteraction(tenant, uid),
  };

  return {
    surface,
    async callerOf(tenant, toolset, tokenHash) {
      const token = await server.verifyAccessToken(tenant, tokenHash);
      if (token === undefined) return undefined;
      if (token.toolset !== toolset) {
        // RFC 8707 audience: a token is good at exactly the toolset it was issued for.
        throw new GatehouseError('unauthenticated', 'The access token was issued for another MCP endpoint', {
          reason: 'wrong_resource',
        });
      }
      return {
        tenant,
        toolset,
        authMethod: 'oauth',
        keyId: `oauth-grant:${token.grantId}`,
        keyName: `oauth:${token.clientId}`,
        subject: token.userId,
        userId: token.userId,
        oauthClientId: token.clientId,
      };
    },
    async sweepExpired() {
      let deleted = 0;
      for (let batch = 0; batch < sweepBatches; batch++) {
        const rows = await store.oauthServer.deleteExpired(options.clock.now(), sweepBatch);
        deleted += rows;
        if (rows < sweepBatch) break;
      }
      return deleted;
    },
    challengeOf(tenant, toolset) {
      if (!acceptsOAuth(tenant, toolset)) return undefined;
      const path = new URL(server.resourceOf(tenant, toolset));
      return {
        resourceMetadata: `${path.origin}/.well-known/oauth-protected-resource${path.pathname}`,
        scope: toolsetScope,
      };
    },
  };
}

/**
 * The scheme and host of a redirect URI, what the consent page names as where the browser goes back to: enough to
 * tell `https://claude.ai` from a look-alike, without the path and query a client may fill with noise.
 */
function originOf(redirectUri: string): string {
  try {
    const url = new URL(redirectUri);
    return `${url.protocol}//${url.host}`;
  } catch {
    return redirectUri;
  }
}
