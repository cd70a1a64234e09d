import { isDeepStrictEqual } from 'node:util';
import { type AuditLog, createAuditLog, type Telemetry } from '../audit/index.ts';
import { createGuardedFetch, type GuardedFetch } from '../auth-server/index.ts';
import type { Clock, Config, ImportProblem, TenantConfig, TenantDocument } from '../core/index.ts';
import { GatehouseError, isGatehouseError, parseTenantDocument, toGatehouseError } from '../core/index.ts';
import type { RefreshLock } from '../oauth/index.ts';
import { createMemoryLimiter, matchToolGlob } from '../policy/index.ts';
import {
  createMemoryCacheBackend,
  createMemoryResultStore,
  createResultCache,
  createResultHandles,
  type ResultStore,
  resultQuotasOf,
} from '../shaping/index.ts';
import type { CacheBackend, Limiter, Store } from '../store/index.ts';
import { createMcpUpstream, type McpUpstream, type UpstreamClient } from '../upstream/index.ts';
import type { Vault } from '../vault/index.ts';
import { admitRelayedRetry } from './admit-limits.ts';
import { buildTenant, type TenantRuntime } from './build-tenants.ts';
import { type CallToolDependencies, callTool, recordCallNotRun } from './call-tool.ts';
import { createClientKeys } from './client-keys.ts';
import type { Caller, Gateway } from './contract.ts';
import { createApprovalTasks } from './create-approval-tasks.ts';
import { createApprovals } from './create-approvals.ts';
import { createFederatedAuthorization } from './create-federated-authorization.ts';
import { createFederation } from './create-federation.ts';
import { createGatewayConnections } from './create-gateway-connections.ts';
import { createGatewayOAuthServer } from './create-gateway-oauth-server.ts';
import { createGatewayRefresh, createRefreshMargins, refreshSettingsOf } from './create-gateway-refresh.ts';
import { createGatewayUsers } from './create-gateway-users.ts';
import { createTenantConfigs } from './create-tenant-configs.ts';
import { createCredentials } from './credentials.ts';
import type { MintConnectLink } from './decide-call.ts';
import { deleteTenant } from './delete-tenant.ts';
import { clientKeyPrefix, hashClientKey } from './hash-client-key.ts';
import { inspectTenant } from './inspect-tenant.ts';
import { issueClientKey } from './issue-client-key.ts';
import { listTools } from './list-tools.ts';
import { loadService } from './load-service.ts';
import { createApprovalNotifier } from './notify-approvers.ts';
import { complete, type FederatedReadDependencies, getPrompt, readResource } from './read-federated.ts';
import { createServiceDescriptions } from './service-descriptions.ts';
import { createTenantsInForce } from './tenants-in-force.ts';

export interface GatewayDependencies {
  readonly config: Config;
  readonly store: Store;
  readonly vault: Vault;
  readonly upstream: UpstreamClient;
  readonly clock: Clock;
  readonly onAuditFailure?: (error: unknown) => void;
  /** Rate and concurrency limiter shared by every process (Redis); in memory when absent. */
  readonly limiter?: Limiter;
  /** Backend of the safe-read cache shared by every process (Redis); a byte-bounded LRU in memory when absent. */
  readonly cacheBackend?: CacheBackend;
  /** Where over-budget results are kept (Redis when several processes serve); in memory when absent. */
  readonly resultStore?: ResultStore;
  /** Priority of the query worker processes (tests); the lowest when absent (see `QueryEvaluatorOptions`). */
  readonly queryWorkerNice?: number;
  /** Signed connect links for step-up consent (the OAuth connect flow); without it a scope denial carries no link. */
  readonly mintConnectLink?: MintConnectLink;
  /**
   * Metrics, usage, alerts and spans (audit/), wired here only: each `tools/call` runs in a span and reports its
   * record, cache lookups and returned tokens; refreshes and connection status changes are reported too.
   */
  readonly telemetry?: Telemetry;
  /** The audit log (built by openAdapters so vault security events reach it); created here when absent. */
  readonly audit?: AuditLog;
  /** Cross-process refresh lock (the Redis lease when `redis` is set); the store's lock when absent. */
  readonly refreshLock?: RefreshLock;
  /** Fetch of OAuth Client ID Metadata Documents (tests); the SSRF-guarded one by default. */
  readonly clientMetadataFetch?: GuardedFetch;
  /** Failures of the authorization server (for the log). */
  readonly onOAuthServerError?: (error: unknown) => void;
  /**
   * Parses a stored tenant document (issue 14) as the config file's tenant entry; absent = `parseTenantDocument`
   * against the config's folder, without the provider catalogue.
   */
  readonly parseTenant?: (document: TenantDocument) => TenantConfig;
  /**
   * Tenants of the config whose configured keys the start does not write: the stored configuration, changed
   * since the file, is served instead once the process follows the store (`LeftAtStart.keptFromStore`).
   */
  readonly keysFromStore?: ReadonlySet<string>;
  /** Fetch of descriptions added by URL through the admin API (tests); the SSRF-guarded one by default. */
  readonly descriptionFetch?: GuardedFetch;
  /** The MCP client of federated (`mcp:`) services; one is created (and closed with the gateway) when absent. */
  readonly mcpUpstream?: McpUpstream;
  /** A federated service's listing failed or broke the config (for the log). */
  readonly onFederationError?: (tenant: string, service: string, error: unknown) => void;
  /** A federated service's new listing left tools out, each with why (for the log). */
  readonly onFederatedToolsSkipped?: (tenant: string, service: string, problems: readonly ImportProblem[]) => void;
  /**
   * A federated session's standalone stream was cut off for its size (for the log; see `McpUpstreamOptions`). Used by
   * the MCP client created here, not by one given as `mcpUpstream`.
   */
  readonly onFederatedStreamCutOff?: (tenant: string, service: string, error: GatehouseError) => void;
}

/**
 * Builds the gateway: the use cases behind every transport, over runtime objects built once from the config
 * (tenants, services and toolsets carrying their own settings). One `tools/call` is `callTool` (call-tool.ts):
 * resolve -> decide -> limits -> approval -> cache -> credential -> send -> shape -> record.
 */
export async function createGateway(deps: GatewayDependencies): Promise<Gateway> {
  const { config, store, vault, upstream, clock } = deps;
  const tenants = new Map<string, TenantRuntime>();
  // The tenants' configurations as served now: the config's, then as stored tenants are created, changed, deleted.
  const inForce = createTenantsInForce(config.tenants);
  // Always there, idle until a tenant federates: one created at run time may (issue 14). It opens no connection
  // before its first listing.
  const ownsMcpUpstream = deps.mcpUpstream === undefined;
  const mcpUpstream =
    deps.mcpUpstream ??
    createMcpUpstream({
      allowPrivateHosts: config.unsafeAllowPrivateUpstreams,
      ...(deps.onFederatedStreamCutOff ? { onStreamCutOff: deps.onFederatedStreamCutOff } : {}),
    });
  const federation = createFederation({
    tenants: config.tenants,
    upstream: mcpUpstream,
    credentialOf: async (tenant, service) => {
      // A per-user OAuth service is listed with its shared account's connection. No connect link is minted here
      // (nobody would see it): a missing or unusable connection is the listing's problem, shown on its status.
      const known =
        service.auth.type === 'oauth2' && service.auth.grant === 'authorization_code'
          ? await store.connections.find(tenant, service.id, 'shared')
          : undefined;
      if (known === undefined && service.auth.type === 'oauth2' && service.auth.grant === 'authorization_code') {
        throw new GatehouseError(
          'connection_required',
          `Listing the tools of ${service.id} needs a connection of subject shared`,
          { service: service.id },
        );
      }
      return (await credentials.resolveCredential(tenant, service.id, service.auth, 'shared', known)).credential;
    },
    onChanged: (tenant) => rebuildTenant(tenant),
    ...(deps.onFederationError ? { onError: deps.onFederationError } : {}),
    ...(deps.onFederatedToolsSkipped ? { onSkipped: deps.onFederatedToolsSkipped } : {}),
  });
  /**
   * A tenant's runtime from its config; `mcp:` services with the tools their servers listed last (`replaceTenant`
   * lists a new or changed one first).
   */
  const buildTenantRuntime = (tenant: TenantConfig, i: number) =>
    buildTenant(tenant, i, (service) =>
      service.mcp !== undefined
        ? federation.load(tenant.id, service)
        : loadService(service, undefined, (digest) => descriptions.textOf(tenant.id, digest)),
    );
  // Descriptions stored through the admin API are read before any tenant is built (the build is synchronous).
  const descriptions = createServiceDescriptions({
    store,
    clock,
    fetch: deps.descriptionFetch ?? createGuardedFetch({ allowPrivateHosts: config.unsafeAllowPrivateUpstreams }),
  });
  for (const tenant of config.tenants) await descriptions.loadFor(tenant.id, tenant.services);
  /** Where a tenant's config errors point: its place in the file, or after the file's tenants for a stored one. */
  const indexOf = (id: string) => {
    const i = config.tenants.findIndex((tenant) => tenant.id === id);
    return i === -1 ? config.tenants.length : i;
  };
  /**
   * Builds a tenant with the tools its federated servers listed. A listing that makes the tenant invalid (a tool
   * name collision) is set aside, last service first, and its service serves degraded, as a later listing causing
   * one is not applied: a remote server cannot keep its tenant down, nor the gateway at start (findings
   * federated_listing_collision_blocks_start, federated_listing_collision_blocks_stored_tenant). An error of the
   * config itself still throws.
   */
  function buildWithListings(tenant: TenantConfig, i: number): ReturnType<typeof buildTenantRuntime> {
    const lastFirst = tenant.services.filter((service) => service.mcp !== undefined).reverse();
    for (;;) {
      try {
        return buildTenantRuntime(tenant, i);
      } catch (error) {
        const problem = toGatehouseError(error).message;
        const service = lastFirst.find((s) => federation.setAside(tenant.id, s.id, problem));
        if (service === undefined) throw error;
        deps.onFederationError?.(tenant.id, service.id, error);
      }
    }
  }
  /** Builds a tenant again as served now (its federated listing changed). */
  function rebuildTenant(id: string): void {
    const tenant = inForce.get(id);
    if (tenant !== undefined) tenants.set(id, buildTenantRuntime(tenant, indexOf(id)));
  }
  for (const [i, tenant] of config.tenants.entries()) tenants.set(tenant.id, buildTenantRuntime(tenant, i));
  const parseTenant =
    deps.parseTenant ?? ((document: TenantDocument) => parseTenantDocument(document, { baseDir: config.baseDir }));

  // The connect flow needs the credentials (client secrets) and the credentials need the flow (connect links).
  const credentials = createCredentials(store, vault, {
    get flow() {
      return connect.flow;
    },
    ensureFresh: (connection) => refresh.ensureFresh(connection),
    linkAloneConnects: config.connectLinks.unsafeLinkAloneConnects,
  });
  const audit: AuditLog =
    deps.audit ??
    (await createAuditLog({
      repository: store.audit,
      clock,
      keys: vault,
      tenants: config.tenants.map((t) => t.id),
      isPurged: (tenantId) => store.tenants.isPurged(tenantId),
      onError: deps.onAuditFailure,
    }));
  // Token, discovery and post-connect requests pass the same SSRF guard as upstream calls: a provider host that
  // resolves to a private address is refused unless listed in unsafeAllowPrivateUpstreams.
  const oauthFetch = createGuardedFetch({
    allowPrivateHosts: config.unsafeAllowPrivateUpstreams,
    connectTimeoutMs: 5_000,
  });
  // The connect flow and the refresh engine see a service's OAuth settings as configured or, for an `mcp:` service
  // naming no authorization server, as discovered from its server (with a registered client).
  // Read from the tenants served now, so a tenant or service added at run time refreshes and connects too.
  const serviceConfigOf = (tenant: string, service: string) =>
    inForce.get(tenant)?.services.find((s) => s.id === service);
  const authorization = createFederatedAuthorization({
    store,
    vault,
    clock,
    publicUrl: config.publicUrl,
    readConfiguredSecret: (tenant, service) => credentials.readClientSecret(tenant, service),
    fetch: oauthFetch,
  });
  // The refresh margin follows the tenants served now, like the sweep (a tenant created at run time counts).
  const margins = createRefreshMargins(config.tenants);
  const refresh = createGatewayRefresh({
    fetch: oauthFetch,
    store,
    vault,
    clock,
    tenants,
    authOf: (tenant, service) => authorization.authOf(tenant, serviceConfigOf(tenant, service)),
    readClientSecret: (tenant, service) => authorization.readClientSecret(tenant, serviceConfigOf(tenant, service)),
    refuseClient: (tenant, service, clientId) =>
      authorization.refuseClient(tenant, serviceConfigOf(tenant, service), clientId),
    audit,
    ...(deps.telemetry ? { telemetry: deps.telemetry } : {}),
    ...refreshSettingsOf(config, deps.refreshLock),
    marginMs: margins.marginMs,
  });
  const handles = createResultHandles({
    store:
      deps.resultStore ??
      createMemoryResultStore({
        clock,
        ...resultQuotasOf(config.resultHandles),
        maxBytes: config.resultHandles.maxBytes,
      }),
    clock,
    query: config.resultHandles.query,
    ...(deps.queryWorkerNice === undefined ? {} : { queryWorkerNice: deps.queryWorkerNice }),
  });
  const connect = createGatewayConnections({
    fetch: oauthFetch,
    config,
    tenantOf: inForce.get,
    store,
    vault,
    clock,
    authorization,
    audit,
    ...(deps.telemetry ? { metrics: deps.telemetry.metrics } : {}),
    serviceOf: (tenant, service) => tenants.get(tenant)?.services.get(service),
    // A federated server is listed with the shared account's connection: list it as soon as that exists.
    onConnected: async ({ tenant, service, subject, connectionId, scopes, requestedScopes }) => {
      await credentials.rememberConsent({ tenant, connectionId, scopes, requestedScopes, at: clock.now() });
      if (subject === 'shared' && serviceConfigOf(tenant, service)?.mcp !== undefined) {
        await federation.refresh(tenant, service);
      }
    },
  });
  const approvalsConfig = config.approvals;
  const notifier =
    approvalsConfig.webhookUrl !== undefined && approvalsConfig.webhookSecret !== undefined
      ? createApprovalNotifier({ url: approvalsConfig.webhookUrl, secret: approvalsConfig.webhookSecret })
      : undefined;
  const approvals = createApprovals({
    repository: store.approvals,
    vault,
    clock,
    publicUrl: config.publicUrl,
    ttlMs: approvalsConfig.ttlSeconds * 1000,
    linkInResult: approvalsConfig.linkInResult,
    ...(notifier ? { onRequested: notifier.notify } : {}),
    onDecided: ({ approval, decision, channel }) =>
      audit.recordSecurityEvent({
        tenant: approval.tenant,
        event: 'approval',
        decision: decision === 'approved' ? 'allow' : 'deny',
        subject: approval.subject,
        clientKey: approval.clientKey,
        toolset: approval.toolset,
        tool: approval.tool,
        detail: `${decision}_via_${channel}`,
        target: `approval:${approval.id}`,
      }),
  });
  const mintConnectLink: MintConnectLink =
    deps.mintConnectLink ??
    (async (request) => {
      const granted = (await store.connections.find(request.tenant, request.service, request.subject))?.scopes ?? [];
      const scopes = [...new Set([...granted, ...request.scopes])];
      return (await connect.flow.createLink({ ...request, scopes })).authorizeUrl;
    });
  const { telemetry } = deps;
  const runCall: Gateway['callTool'] = (caller, name, args, requestId, options) => {
    if (telemetry === undefined) return callTool(calls, caller, name, args, requestId, options);
    return telemetry.span(
      'tools/call',
      {
        'gatehouse.tenant': caller.tenant,
        'gatehouse.toolset': caller.toolset,
        'gen_ai.tool.name': name.slice(0, 64),
      },
      () => callTool(calls, caller, name, args, requestId, options),
      (outcome) => (outcome.ok ? undefined : outcome.error.code),
    );
  };
  // A task is kept while its approval waits and then stays usable (two approval lifetimes).
  const approvalTasks = createApprovalTasks({
    repository: store.approvalTasks,
    approvals,
    vault,
    clock,
    callTool: runCall,
    recordOutcome: (caller, name, args, requestId, outcome) =>
      recordCallNotRun(calls, caller, name, args, requestId, outcome),
    ttlMs: 2 * approvalsConfig.ttlSeconds * 1000,
  });
  const calls: CallToolDependencies = {
    tenants,
    clock,
    store,
    mintConnectLink,
    unlistedServiceOf,
    limiter: deps.limiter ?? createMemoryLimiter(clock),
    approvals,
    cache: createResultCache(deps.cacheBackend ?? createMemoryCacheBackend({ clock, maxBytes: config.cache.maxBytes })),
    credentials,
    upstream,
    mcpUpstream,
    refresh,
    audit,
    handles,
    commitAll: config.audit.commitBeforeAnswer === 'all',
    ...(telemetry ? { telemetry } : {}),
    ...(deps.onAuditFailure ? { onAuditFailure: deps.onAuditFailure } : {}),
  };

  const reads: FederatedReadDependencies = {
    tenants,
    clock,
    store,
    credentials,
    limiter: calls.limiter,
    mcpUpstream,
    handles,
    audit,
    ...(telemetry ? { telemetry } : {}),
    ...(deps.onAuditFailure ? { onAuditFailure: deps.onAuditFailure } : {}),
  };

  const now = clock.now();
  for (const tenant of config.tenants) {
    await store.tenants.ensure(tenant.id, now);
    for (const service of tenant.services)
      await credentials.storeStaticSecret(tenant.id, service.id, service.auth, now);
  }
  // The static credentials are in the vault now: list the federated servers, then build with their tools (the
  // config was built without them above).
  await federation.start();
  for (const [i, tenant] of config.tenants.entries()) {
    if (tenant.services.some((service) => service.mcp !== undefined))
      tenants.set(tenant.id, buildWithListings(tenant, i));
  }
  const clientKeys = createClientKeys({
    store,
    clock,
    tenants: config.tenants.filter((tenant) => deps.keysFromStore?.has(tenant.id) !== true),
    cacheMs: config.clientKeyCache.ttlSeconds * 1000,
    servesToolset: (tenant, toolset) => tenants.get(tenant)?.toolsets.has(toolset) ?? false,
    audit,
  });
  await clientKeys.syncConfigured();
  const oauth = createGatewayOAuthServer({
    config,
    tenants,
    tenantConfigs: inForce,
    store,
    vault,
    clock,
    audit,
    limiter: calls.limiter,
    ...(deps.clientMetadataFetch ? { fetch: deps.clientMetadataFetch } : {}),
    ...(deps.onOAuthServerError ? { onError: deps.onOAuthServerError } : {}),
  });
  const inbound = new Map(
    config.tenants.flatMap((t) => t.toolsets.map((s) => [`${t.id}/${s.id}`, s.inbound] as const)),
  );
  const tenantConfigs = createTenantConfigs({
    store,
    audit,
    clock,
    parse: parseTenant,
    tenantEnv: config.tenantEnv,
    allowPrivateHosts: config.unsafeAllowPrivateUpstreams,
  });

  /**
   * The federated service not listed now (`degraded` or `unlisted`) that a tool `name` of the toolset would belong
   * to: a `{service}_` name, or any name in a toolset exposing the service `unprefixed`, that the toolset's globs
   * let through. Only a call to an unknown tool asks, so the globs are compiled here, not kept.
   */
  function unlistedServiceOf(tenantId: string, toolsetId: string, name: string): string | undefined {
    const toolset = inForce.get(tenantId)?.toolsets.find((t) => t.id === toolsetId);
    if (toolset === undefined || !matchToolGlob(toolset.tools)(name) || matchToolGlob(toolset.exclude)(name)) {
      return undefined;
    }
    return federation
      .status()
      .find(
        (status) =>
          status.tenant === tenantId &&
          status.state !== 'listed' &&
          (name.startsWith(`${status.service}_`) || toolset.unprefixed.includes(status.service)),
      )?.service;
  }

  /**
   * Swaps a tenant's runtime for one built from `tenant` (issue 14, a stored configuration changed). A call in
   * flight keeps the runtime it resolved (its toolset, policy and services), so it finishes as it began; the next
   * call resolves the new one. A description that fails to load throws and leaves the old runtime serving.
   */
  async function replaceTenant(tenant: TenantConfig): Promise<void> {
    // Built first: a config error throws before anything is written or listed.
    let runtime = buildTenantRuntime(tenant, indexOf(tenant.id));
    // What the start does for the config's tenants, for a tenant or service that appeared since: the services'
    // static secrets into the vault (where calls read them), the audit keys (fingerprints, checkpoints).
    const before = inForce.get(tenant.id);
    const now = clock.now();
    for (const service of tenant.services) {
      const was = before?.services.find((s) => s.id === service.id)?.auth;
      if (was === undefined || !isDeepStrictEqual(was, service.auth))
        await credentials.storeStaticSecret(tenant.id, service.id, service.auth, now);
    }
    await audit.addTenant(tenant.id);
    // Its configured client keys, as the start writes them (removed ones revoked); a key another tenant holds
    // throws here and the old runtime stays.
    if (before === undefined || !isDeepStrictEqual(before.clientKeys, tenant.clientKeys))
      await clientKeys.syncTenant(tenant);
    // Its federated servers listed with the credentials just stored, then built again with their tools (a listing
    // that collides set aside, its service degraded). A config that still does not build throws: the old runtime
    // stays, with its own listings.
    await federation.putTenant(tenant);
    if (tenant.services.some((service) => service.mcp !== undefined)) {
      try {
        runtime = buildWithListings(tenant, indexOf(tenant.id));
      } catch (error) {
        if (before === undefined) federation.removeTenant(tenant.id);
        else await federation.putTenant(before);
        throw error;
      }
    }
    inForce.put(tenant);
    margins.put(tenant);
    for (const key of [...inbound.keys()]) if (key.startsWith(`${tenant.id}/`)) inbound.delete(key);
    for (const toolset of tenant.toolsets) inbound.set(`${tenant.id}/${toolset.id}`, toolset.inbound);
    tenants.set(tenant.id, runtime);
  }

  /**
   * A client key or an access token, as the toolset's `inbound` allows. Generated client keys carry their prefix,
   * so they never cost an access-token lookup; anything else is tried as an access token first (a cache hit is
   * one hash and one map lookup, like a cached key) and then as a key.
   */
  async function authenticate(tenant: string, toolset: string, authorization: string | undefined): Promise<Caller> {
    const methods = inbound.get(`${tenant}/${toolset}`);
    try {
      const token = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(authorization ?? '')?.[1];
      if (
        oauth !== undefined &&
        token !== undefined &&
        methods?.includes('oauth') &&
        !token.startsWith(clientKeyPrefix)
      ) {
        const caller = await oauth.callerOf(tenant, toolset, hashClientKey(token));
        if (caller !== undefined) return caller;
      }
      if (methods === undefined || methods.includes('keys'))
        return await clientKeys.authenticate(tenant, toolset, authorization);
      throw new GatehouseError('unauthenticated', 'An OAuth access token is required (Authorization: Bearer ...)');
    } catch (error) {
      const challenge = oauth?.challengeOf(tenant, toolset);
      if (challenge !== undefined && isGatehouseError(error) && error.code === 'unauthenticated') {
        throw new GatehouseError(error.code, error.message, { ...error.details, ...challenge });
      }
      throw error;
    }
  }

  const users = createGatewayUsers({
    config,
    tenantOf: inForce.get,
    store,
    vault,
    clock,
    limiter: calls.limiter,
    audit,
    connections: connect.connections,
    flow: connect.flow,
    ...(deps.onAuditFailure ? { onAuditError: deps.onAuditFailure } : {}),
  });
  // Expired sign-in sessions, and the sign-outs of operator cookies that have expired since (such a cookie is
  // refused by its own expiry), are deleted hourly; expired authorization-server rows every ten minutes in bounded
  // batches (a lookup never accepts an expired row anyway; the sweeps keep the tables small).
  let sweep: ReturnType<typeof setInterval> | undefined;
  let oauthSweep: ReturnType<typeof setInterval> | undefined;
  // Expired approval tasks every minute, by every process: each task is taken by one of them, and a task that never
  // ended gets its call's outcome record then (AU-01). `taskSweeping`: the sweep under way (close waits for it).
  let taskSweep: ReturnType<typeof setInterval> | undefined;
  let taskSweeping: Promise<unknown> | undefined;

  const gateway: Gateway = {
    start: () => {
      refresh.start();
      sweep = setInterval(() => {
        void store.userSessions.deleteExpired(clock.now()).catch(() => {});
        void store.operatorSessionEnds.deleteExpired(clock.now()).catch(() => {});
      }, 3_600_000);
      sweep.unref();
      if (oauth !== undefined) {
        oauthSweep = setInterval(() => void oauth.sweepExpired().catch(() => {}), 600_000);
        oauthSweep.unref();
      }
      taskSweep = setInterval(() => {
        taskSweeping ??= approvalTasks
          .sweepExpired()
          .catch(() => {})
          .finally(() => (taskSweeping = undefined));
      }, 60_000);
      taskSweep.unref();
    },
    async close() {
      clearInterval(sweep);
      clearInterval(oauthSweep);
      clearInterval(taskSweep);
      await taskSweeping;
      federation.close();
      if (ownsMcpUpstream) await mcpUpstream.close();
      await refresh.close();
      await notifier?.close(5_000);
      await handles.close();
    },
    authenticate,
    ...(oauth === undefined ? {} : { oauthServer: oauth.surface }),
    tenantConfigs,
    descriptions,
    live: {
      parseTenant,
      inspectTenant: (id) => {
        const runtime = tenants.get(id);
        return runtime === undefined ? undefined : inspectTenant(runtime);
      },
      prepareTenant: async (document) =>
        descriptions.loadFor(
          String(document.id),
          (Array.isArray(document['services']) ? document['services'] : []) as Record<string, unknown>[],
        ),
      replaceTenant,
      hasTenant: inForce.has,
      tenantOf: inForce.get,
      removeTenant(id) {
        tenants.delete(id);
        inForce.remove(id);
        margins.remove(id);
        federation.removeTenant(id);
        // Its secrets stop opening here at once: if another process purged it, its data keys are gone.
        vault.forgetTenantKeys(id);
        for (const key of [...inbound.keys()]) if (key.startsWith(`${id}/`)) inbound.delete(key);
      },
    },
    federation: { status: () => federation.status() },

    async listTools(caller) {
      const toolset = toolsetOf(caller);
      return listTools(store, tenantOf(caller.tenant), toolset, caller);
    },

    federatedCapabilities: (caller) => toolsetOf(caller).declares,
    listResources: (caller) => toolsetOf(caller).features.resourceServices.flatMap((service) => service.resources),
    listResourceTemplates: (caller) =>
      toolsetOf(caller).features.resourceServices.flatMap((service) => service.resourceTemplates),
    listPrompts: (caller) =>
      [...toolsetOf(caller).features.prompts.values()].map(({ name, prompt }) => ({
        name,
        ...(prompt.title === undefined ? {} : { title: prompt.title }),
        ...(prompt.description === undefined ? {} : { description: prompt.description }),
        ...(prompt.arguments === undefined ? {} : { arguments: prompt.arguments }),
      })),
    readResource: (caller, uri, requestId, log) => readResource(reads, caller, uri, requestId, log),
    getPrompt: (caller, name, args, requestId, log) => getPrompt(reads, caller, name, args, requestId, log),
    complete: (caller, request, requestId) => complete(reads, caller, request, requestId),

    callTool: runCall,
    admitRelayedRetry: (caller, name, args) => admitRelayedRetry(tenants, calls.limiter, caller, name, args),
    approvals,
    approvalTasks,
    connections: connect.connections,
    users,

    admin: {
      async listTenants() {
        return [...tenants.values()].map((tenant) => ({
          id: tenant.id,
          services: [...tenant.services.keys()],
          toolsets: [...tenant.toolsets].map(([id, toolset]) => ({
            id,
            url: `${config.publicUrl}/mcp/${tenant.id}/${id}`,
            tools: toolset.listed.length,
          })),
        }));
      },
      federationStatus(tenant) {
        tenantOf(tenant);
        return federation.status().filter((status) => status.tenant === tenant);
      },
      async listClientKeys(tenant) {
        tenantOf(tenant);
        return clientKeys.list(tenant);
      },
      async revokeClientKey(tenant, keyId, actor) {
        tenantOf(tenant);
        await clientKeys.revoke(tenant, keyId, actor);
      },
      async createClientKey(tenant, request, actor) {
        tenantOf(tenant);
        if ((await clientKeys.list(tenant)).some((k) => k.name === request.name)) {
          throw new GatehouseError(
            'resource_conflict',
            `name: tenant ${tenant} already has a client key '${request.name}'`,
            {
              field: 'name',
            },
          );
        }
        // The toolsets served now: a toolset added through the admin API since the start takes keys too.
        const served = {
          tenants: [...tenants.values()].map((t) => ({
            id: t.id,
            toolsets: [...t.toolsets.keys()].map((id) => ({ id })),
          })),
        };
        const key = await issueClientKey(served, store, clock, { tenant, ...request, actor }, audit);
        const created = (await clientKeys.list(tenant)).find((k) => k.name === request.name);
        if (created === undefined) throw new GatehouseError('internal', 'The new client key was not stored');
        return { ...created, key };
      },
      deleteTenant: (tenant, options) =>
        deleteTenant(
          { store, vault, tenantConfigs, tenantOf: inForce.get, publicUrl: config.publicUrl },
          tenant,
          options,
        ),
    },

    async ready() {
      try {
        await store.ping();
        return true;
      } catch {
        return false;
      }
    },
  };

  function tenantOf(id: string): TenantRuntime {
    const tenant = tenants.get(id);
    if (tenant === undefined) throw new GatehouseError('not_found', `No tenant ${id}`);
    return tenant;
  }

  function toolsetOf(caller: Caller) {
    const toolset = tenants.get(caller.tenant)?.toolsets.get(caller.toolset);
    if (toolset === undefined) throw new GatehouseError('not_found', 'No such MCP endpoint');
    return toolset;
  }

  return gateway;
}
