import { createAdminDenialRecorder, loadAuditCheckpointKey, verifyAuditChain } from '../audit/index.ts';
import {
  adminTokenWeakness,
  type Clock,
  type Config,
  isGatehouseError,
  RevisionConflictError,
  systemClock,
  type TenantConfig,
  type TenantDocument,
} from '../core/index.ts';
import {
  createGateway,
  type Gateway,
  type LeftAtStart,
  reconcileTenantConfigs,
  type TenantConfigWatch,
  tenantsLeftAtStart,
  watchTenantConfigs,
} from '../gateway/index.ts';
import {
  createAdminRoutes,
  createApprovalAdminRoutes,
  createApprovalPageRoutes,
  createAuditAdminRoutes,
  createConnectionAdminRoutes,
  createConnectRoutes,
  createConsoleRoutes,
  createHttpApp,
  createOAuthServerRoutes,
  createOperatorRoutes,
  createTenantAdminRoutes,
  createTenantLifecycleRoutes,
  createTenantResourceRoutes,
  createUserAdminRoutes,
  createUserRoutes,
  startHttpServer,
  type TenantResourceRoutesOptions,
  type UserConsentSource,
} from '../http/index.ts';
import { createMemoryLimiter } from '../policy/index.ts';
import { createOperatorSessions, operatorSessionPurpose } from '../users/index.ts';
import type { Adapters } from './adapters.ts';
import { type Observability, type ObservabilityOptions, startObservability } from './start-observability.ts';

/** Builds the gateway over opened adapters and serves it on `config.listen` (port 0 picks a free port). */
export async function startGatehouse(
  config: Config,
  adapters: Adapters,
  clock: Clock = systemClock,
  options: ObservabilityOptions & {
    /** Tests: extends the built gateway before it is served (e.g. an end-user surface of their own). */
    readonly extendGateway?: (gateway: Gateway) => Gateway;
    /**
     * Tests: other tenant documents behind the admin API's resource routes (services, toolsets, approval rules,
     * limits). Absent: the gateway's stored configurations, when the tenants follow them (`tenantDocuments`).
     */
    readonly tenantConfigs?: TenantResourceRoutesOptions;
    /**
     * The config file's tenants as written (issue 14): the store is reconciled to them at start, and every
     * process then follows the stored configurations live. Absent: the file alone configures the tenants.
     */
    readonly tenantDocuments?: readonly TenantDocument[];
    /** Parses a stored tenant document (with the provider catalogue); see `GatewayDependencies.parseTenant`. */
    readonly parseTenant?: (document: TenantDocument) => TenantConfig;
    /** How often each process checks the stored revisions besides the store's notices (default 1,000 ms). */
    readonly tenantConfigCheckMs?: number;
    /**
     * Tests: the fetch of Client ID Metadata Documents, e.g. a guarded fetch that trusts a test CA and allows
     * 127.0.0.1 (a local HTTPS fixture). Production never sets it: the default trusts the system CAs and allows
     * only `unsafeAllowPrivateUpstreams`.
     */
    readonly clientMetadataFetch?: Parameters<typeof createGateway>[0]['clientMetadataFetch'];
  } = {},
) {
  // The tenants served now (issue 14: created and deleted at run time); the config's when the gateway is a fake.
  // Asked only by requests, so after the gateway below is built.
  const hasTenant = (tenant: string) => gateway.live?.hasTenant(tenant) ?? config.tenants.some((t) => t.id === tenant);
  const tenantOf = (tenant: string) =>
    gateway.live === undefined ? config.tenants.find((t) => t.id === tenant) : gateway.live.tenantOf(tenant);
  const observability = startObservability(config, adapters, clock, { ...options, hasTenant });
  const { telemetry } = observability;
  // Read once, before the gateway is built: its start must not write the keys of a tenant kept as stored, and
  // the reconcile below leaves these tenants as they are.
  const leftAtStart =
    options.tenantDocuments === undefined
      ? undefined
      : await tenantsLeftAtStart(adapters.store, options.tenantDocuments);
  const built = await createGateway({
    config,
    ...adapters,
    upstream: observability.upstream,
    vault: observability.vault,
    telemetry,
    clock,
    onOAuthServerError: (error) => observability.logger.warn({ err: error }, 'authorization server failure'),
    // Registered secrets (every plaintext the vault opened) are scrubbed from every line by the logger.
    // `serviceId`, not `service`: every line already has `service: 'gatehouse'` (a second key of that name made the
    // line's JSON ambiguous, and the pretty format hides `service`, so the failed service was not named at all).
    onFederationError: (tenant, service, error) =>
      observability.logger.warn(
        { tenant, serviceId: service, err: error },
        'remote MCP server listing failed or was not applied; the service is degraded (see /readyz) until a listing succeeds',
      ),
    onFederatedToolsSkipped: (tenant, service, problems) =>
      observability.logger.warn(
        { tenant, serviceId: service, skipped: problems.slice(0, 50).map(({ at, reason }) => ({ tool: at, reason })) },
        `remote MCP server listed ${problems.length} tool(s) that were not imported`,
      ),
    onFederatedStreamCutOff: (tenant, service, error) =>
      observability.logger.warn(
        { tenant, serviceId: service, code: error.code, details: error.details },
        error.message,
      ),
    ...(options.parseTenant ? { parseTenant: options.parseTenant } : {}),
    ...(options.clientMetadataFetch ? { clientMetadataFetch: options.clientMetadataFetch } : {}),
    ...(leftAtStart === undefined
      ? {}
      : { keysFromStore: new Set([...leftAtStart].filter(([, left]) => left.keptFromStore).map(([id]) => id)) }),
  });
  const gateway = options.extendGateway?.(built) ?? built;
  // Set once the process follows the stored configurations: a tenant created or deleted here is served (or not)
  // by this process before the admin API answers.
  let watch: TenantConfigWatch | undefined;
  const settle = async () => {
    await watch?.check();
  };
  const [host, port] = splitListen(config.listen);
  const users = gateway.users;
  // Sign-in forms and the admin API's wrong tokens count against one limiter (Redis in a fleet: one budget).
  const attemptLimiter = adapters.limiter ?? createMemoryLimiter(clock);
  const adminRoutes = createAdminRoutes({
    adminToken: config.adminToken,
    failedTokens: { limiter: attemptLimiter, now: () => clock.now() },
    ...(users
      ? {
          users: {
            authenticateApiToken: (token) => users.roles.authenticateApiToken(token),
            activeSession: (tenant, cookie) => users.activeSession(tenant, cookie),
            rolesOf: (tenant, userId) => users.roles.rolesOf(tenant, userId),
          },
        }
      : {}),
    onDenied: createAdminDenialRecorder({
      tenants: hasTenant,
      audit: adapters.audit,
      metrics: telemetry.metrics,
      onError: (error) => observability.logger.warn({ err: error }, 'admin_denied audit record could not be written'),
    }),
    routes: [
      ...createTenantAdminRoutes(gateway.admin),
      ...createAuditAdminRoutes({
        audit: adapters.store.audit,
        hasTenant,
      }),
      ...createApprovalAdminRoutes(gateway),
      ...(gateway.connections ? createConnectionAdminRoutes(gateway.connections) : []),
      ...(gateway.users ? createUserAdminRoutes(gateway.users) : []),
      ...(resourceRoutesOf(gateway, options, settle) ?? []),
      ...observability.adminRoutes,
    ],
  });
  const adminTokenWeak = adminTokenWeakness(config.adminToken);
  if (adminTokenWeak !== undefined) {
    observability.logger.warn({ setting: 'adminToken' }, `${adminTokenWeak.problem}; ${adminTokenWeak.fix}`);
  }
  if (config.connectLinks.unsafeLinkAloneConnects) {
    observability.logger.warn(
      { setting: 'connectLinks.unsafeLinkAloneConnects' },
      'connect links for subjects that are no user are opened by whoever holds them: a forwarded link connects the account of whoever opens it',
    );
  }
  // The operator's console sessions (admin token sign-in): keyed by a key derived from the master key once, here,
  // so every process of a fleet accepts each other's cookies, across restarts; bound to the admin token; a
  // sign-out is recorded in the store they share, so every process refuses the signed-out cookie.
  const operatorSessions = createOperatorSessions({
    adminToken: config.adminToken,
    keys: await adapters.vault.deriveKeys(operatorSessionPurpose),
    ended: adapters.store.operatorSessionEnds,
    now: () => clock.now(),
  });
  const operator = createOperatorRoutes({
    sessions: operatorSessions,
    secureCookie: config.publicUrl.startsWith('https:'),
    limiter: attemptLimiter,
    listTenants: () => gateway.admin.listTenants(),
    onEvent: (event) =>
      event.decision === 'deny'
        ? observability.logger.warn(event, 'operator sign-in refused')
        : observability.logger.info(
            event,
            event.event === 'operator_sign_in' ? 'operator signed in' : 'operator signed out',
          ),
  });
  const app = createHttpApp({
    gateway,
    publicUrl: config.publicUrl,
    allowedOrigins: config.allowedOrigins,
    listenHost: host,
    trustedProxies: config.trustedProxies,
    logger: observability.logger,
    ...(adapters.processBus === undefined ? {} : { processBus: adapters.processBus }),
    routes: [
      ...adminRoutes,
      ...createApprovalPageRoutes(gateway, {
        publicUrl: config.publicUrl,
        adminToken: config.adminToken,
        approverTokenOf: (tenant) => tenantOf(tenant)?.approverToken,
        linkAloneApproves: config.approvals.unsafeLinkAloneApproves,
        // One budget of approver-token attempts for every process when Redis is configured; else per process.
        ...(adapters.limiter ? { limiter: adapters.limiter } : {}),
        audit: adapters.audit,
        onAuditError: (error) =>
          observability.logger.warn({ err: error }, 'approver_denied audit record could not be written'),
      }),
      ...(gateway.connections
        ? createConnectRoutes(
            gateway.connections,
            (error) =>
              // Code and details only: the cause may hold the server's answer (a token).
              observability.logger.warn({ code: error.code, details: error.details }, 'oauth callback failed'),
            {
              operator: operatorSessions,
              ...(users
                ? {
                    users: {
                      activeSession: (tenant, cookie) => users.activeSession(tenant, cookie),
                      checkCsrf: (cookie, csrf) => users.checkCsrf(cookie, csrf),
                      rolesOf: (tenant, userId) => users.roles.rolesOf(tenant, userId),
                    },
                  }
                : {}),
            },
          )
        : []),
      // After the connect routes: `/oauth/callback` would also match `/oauth/:tenant/*`.
      ...createOAuthServerRoutes(gateway),
      ...(users ? createUserRoutes({ users, ...consentsOf(gateway), operatorSignInForm: operator.signInForm }) : []),
      ...(users ? operator.routes : []),
      ...(users
        ? createConsoleRoutes({
            operator: operatorSessions,
            deps: {
              gateway: { ...gateway, users },
              audit: adapters.store.audit,
              usage: {
                summarize: (t, from, to, top) => adapters.store.usage.summarize(t, from, to, top),
                flushOlderThan: observability.flushUsageOlderThan,
              },
              verifyAudit: async (tenant) =>
                verifyAuditChain(adapters.store.audit, tenant, {
                  ...(await checkpointKeyOf(adapters, tenant)),
                }),
              now: () => clock.now(),
              alerts: observability.alertsView,
              settle,
            },
          })
        : []),
      observability.metricsRoute,
    ],
  });
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    server = await startHttpServer(app, { host, port });
  } catch (error) {
    // Nothing listens: stop what was started so the process can exit with the error.
    await gateway.close?.();
    await observability.close();
    throw error;
  }
  gateway.start?.();
  const { logger } = observability;
  try {
    watch = await followStoredTenants(gateway, adapters, { ...options, leftAtStart }, logger, observability);
  } catch (error) {
    await server.close({ drainTimeoutMs: 0 });
    await gateway.close?.();
    await observability.close();
    throw error;
  }
  const served = await servedTenantsOf(config, gateway);
  logger.info(
    {
      url: server.url,
      publicUrl: config.publicUrl,
      store: config.store.slice(0, config.store.indexOf(':')), // the kind only: the URL may carry a password
      redis: config.redis === undefined ? 'off' : 'on',
      tenants: served.length,
      mode: config.mode,
    },
    'gatehouse started',
  );
  return {
    ...server,
    /** The gateway behind the server (the demo seeds its user through it). */
    gateway,
    /** The tenants this process served when it started, the file's and the store's (`servedTenantsOf`). */
    servedAtStart: served,
    /**
     * Graceful stop (`config.shutdown`): unready first, then drain; calls still running when the drain time is up
     * have their upstream requests aborted, so they end (and are audited) before the gateway and its background
     * work stop. The caller closes the adapters (audit flush, store) after this resolves.
     */
    async close() {
      logger.info({ url: server.url, ...config.shutdown }, 'gatehouse stopping');
      const started = performance.now();
      await server.close({
        unreadyDelayMs: config.shutdown.unreadyDelaySeconds * 1000,
        drainTimeoutMs: config.shutdown.drainTimeoutSeconds * 1000,
        onDrainTimeout: (inFlight) => {
          logger.warn({ inFlight, drainTimeoutSeconds: config.shutdown.drainTimeoutSeconds }, 'drain timed out');
          void observability.upstream.abort();
        },
      });
      await watch?.stop();
      await gateway.close?.();
      logger.info({ tookMs: Math.round(performance.now() - started) }, 'gatehouse stopped');
      await observability.close();
    },
  };
}

/**
 * Issue 14: reconciles the store to the file's tenants (the file wins at start), then follows the stored
 * configurations: a change written by any process (admin API, `gatehouse apply`) rebuilds that tenant here.
 */
async function followStoredTenants(
  gateway: Gateway,
  adapters: Adapters,
  options: {
    readonly tenantDocuments?: readonly TenantDocument[];
    readonly tenantConfigCheckMs?: number;
    readonly leftAtStart: ReadonlyMap<string, LeftAtStart> | undefined;
  },
  logger: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void },
  observability: Pick<Observability, 'followTenant' | 'forgetTenant'>,
): Promise<TenantConfigWatch | undefined> {
  const { tenantConfigs, live } = gateway;
  const { tenantDocuments, leftAtStart } = options;
  if (tenantDocuments === undefined || leftAtStart === undefined || tenantConfigs === undefined || live === undefined)
    return undefined;
  const report = await reconcileTenantConfigs(tenantConfigs, tenantDocuments, {
    actor: 'config-file',
    validate: (document) => void live.parseTenant(document),
    onlyChangedSinceFile: { left: leftAtStart },
  });
  for (const { tenantId, paths } of report.notStored) {
    logger.warn(
      { tenant: tenantId, fields: paths },
      'tenant not stored: a secret field holds a value, not an ${env:...} reference; the file alone configures it (no live changes)',
    );
  }
  for (const [tenant, changes] of report.changed) {
    logger.info(
      { tenant, changes: changes.map((c) => `${c.kind} ${c.id} ${c.change}`) },
      'stored tenant configuration reconciled to the file',
    );
  }
  // A tenant changed through the admin API since the file was written is served as stored, not as in the file.
  const known = new Map(report.revisions);
  for (const tenantId of report.keptFromStore) known.delete(tenantId);
  const watch = await watchTenantConfigs({
    store: adapters.store,
    parse: live.parseTenant,
    prepare: live.prepareTenant,
    known,
    ...(options.tenantConfigCheckMs === undefined ? {} : { intervalMs: options.tenantConfigCheckMs }),
    // A failure throws to the watch, which reports it (below) and tries the revision again later.
    onChange: async (tenant, revision) => {
      await live.replaceTenant(tenant);
      observability.followTenant(tenant);
      logger.info({ tenant: tenant.id, revision }, 'tenant configuration changed; serving the new revision');
    },
    onRemove: (tenantId) => {
      live.removeTenant(tenantId);
      observability.forgetTenant(tenantId);
      logger.info({ tenant: tenantId }, 'tenant configuration removed');
    },
    onError: (tenantId, error, retryInMs) =>
      logger.warn(
        {
          tenant: tenantId,
          err: error,
          ...(retryInMs === undefined ? {} : { retryInSeconds: Math.round(retryInMs / 100) / 10 }),
        },
        'stored tenant configuration not applied; the previous one stays',
      ),
  });
  // Tenants kept as stored, and tenants only in the store (created through the admin API), are served from the start.
  await watch.check();
  return watch;
}

/**
 * The tenants this process serves now, as it serves them: the file's, and those it follows from the store (created
 * through the admin API, or removed from the file but still stored: `gatehouse apply` removes those), marked
 * `onlyStored`. With the file alone configuring the tenants, the file's.
 */
async function servedTenantsOf(
  config: Config,
  gateway: Gateway,
): Promise<readonly { readonly tenant: TenantConfig; readonly onlyStored: boolean }[]> {
  const { live, tenantConfigs } = gateway;
  const fromFile = new Set(config.tenants.map((tenant) => tenant.id));
  const stored = live === undefined || tenantConfigs === undefined ? [] : await tenantConfigs.list();
  const ids = [...new Set([...fromFile, ...stored.map((entry) => entry.tenantId)])];
  return ids.flatMap((id) => {
    const tenant = live === undefined ? config.tenants.find((t) => t.id === id) : live.tenantOf(id);
    return tenant === undefined || (live !== undefined && !live.hasTenant(id))
      ? []
      : [{ tenant, onlyStored: !fromFile.has(id) }];
  });
}

function splitListen(listen: string): [string, number] {
  const at = listen.lastIndexOf(':');
  return [listen.slice(0, at).replace(/^\[|\]$/g, ''), Number(listen.slice(at + 1))];
}

/**
 * The tenant's audit checkpoint key for the console's "verify the chain" (as `gatehouse audit verify` loads it);
 * none when the tenant never had a keyed log or the key cannot be unsealed (the report then says unchecked).
 */
async function checkpointKeyOf(adapters: Adapters, tenant: string): Promise<{ checkpointKey?: Buffer }> {
  try {
    const key = await loadAuditCheckpointKey(adapters.store.audit, adapters.vault, tenant);
    return key === undefined ? {} : { checkpointKey: key };
  } catch (error) {
    if (isGatehouseError(error) && error.code === 'decrypt_failed') return {};
    throw error;
  }
}

/** The account page's consent section over the authorization server (none without one). */
function consentsOf(gateway: Gateway): { consents?: UserConsentSource } {
  const server = gateway.oauthServer;
  if (server === undefined) return {};
  return {
    consents: {
      consentsOf: async (user) =>
        (await server.consentsOf(user)).map((c) => ({
          id: c.id,
          client: c.clientName,
          toolset: c.toolset,
          grantedAt: c.createdAt,
        })),
      revokeConsent: (user, id) => server.revokeConsent(user, id),
      appAsking: (tenant, uid) => server.clientOfInteraction(tenant, uid),
    },
  };
}

/**
 * The admin API's routes over the tenants' stored configurations: served where changes take effect, that is where
 * the gateway follows the stored configurations (`tenantDocuments`); with the file alone there is nothing to edit.
 */
function resourceRoutesOf(
  gateway: Gateway,
  options: { readonly tenantConfigs?: TenantResourceRoutesOptions; readonly tenantDocuments?: unknown },
  settle: () => Promise<void>,
) {
  if (options.tenantConfigs) return createTenantResourceRoutes(options.tenantConfigs);
  if (options.tenantDocuments === undefined || gateway.tenantConfigs === undefined) return undefined;
  const isRevisionConflict = (error: unknown) => error instanceof RevisionConflictError;
  const { live } = gateway;
  const deleteTenant = gateway.admin.deleteTenant;
  return [
    // Whole tenants (operator only), where the gateway follows the stored configurations live.
    ...(live === undefined || deleteTenant === undefined
      ? []
      : createTenantLifecycleRoutes({
          documents: gateway.tenantConfigs,
          hasTenant: (tenant) => live.hasTenant(tenant),
          deleteTenant: (tenant, request) => deleteTenant(tenant, request),
          settle,
          isRevisionConflict,
        })),
    ...createTenantResourceRoutes({
      documents: gateway.tenantConfigs,
      ...(gateway.descriptions === undefined ? {} : { descriptions: gateway.descriptions }),
      isRevisionConflict,
    }),
  ];
}
