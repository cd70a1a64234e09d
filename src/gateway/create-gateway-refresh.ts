import type { AuditLog, RefreshOutcome, Telemetry } from '../audit/index.ts';
import { type Clock, type Config, GatehouseError, type ServiceAuthConfig, type TenantConfig } from '../core/index.ts';
import {
  createRefreshEngine,
  createServiceRefreshSender,
  type FreshToken,
  type OAuthFetch,
  type OAuthServiceAuth,
  type RefreshEngine,
  type RefreshEvent,
  type RefreshLock,
} from '../oauth/index.ts';
import type { ConnectionRecord, Store } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { TenantRuntime } from './build-tenants.ts';

export interface GatewayRefreshDependencies {
  readonly store: Store;
  readonly vault: Vault;
  readonly clock: Clock;
  readonly tenants: ReadonlyMap<string, TenantRuntime>;
  readClientSecret(tenant: string, service: string): Promise<string | undefined>;
  /** The authorization server refused `clientId` (`invalid_client`): true when another client is ready now. */
  refuseClient?(tenant: string, service: string, clientId: string): Promise<boolean>;
  /** The OAuth settings of an `oauth2` service (discovered first for an `mcp:` service); undefined for another. */
  authOf(tenant: string, service: string): Promise<OAuthServiceAuth | undefined>;
  readonly audit?: Pick<AuditLog, 'recordSecurityEvent'>;
  /** Refresh outcomes and `needs_reauth` transitions feed metrics and alerts. */
  readonly telemetry?: Pick<Telemetry, 'refresh' | 'connectionStatus'>;
  /** Cross-process lock (e.g. the Redis lease); default the store's. */
  readonly lock?: RefreshLock;
  /** Asked at each use: the margin of the tenants served now (`createRefreshMargins`). */
  readonly marginMs?: number | (() => number);
  /** Interval of the proactive sweep over idle connections (engine default 30,000 ms). */
  readonly backgroundIntervalMs?: number;
  /** Sends discovery and refresh requests (the gateway's SSRF-guarded fetch); default `fetch`. */
  readonly fetch?: OAuthFetch;
}

/**
 * The gateway's side of the refresh engine: the seam `resolveCredential` calls for an oauth2 connection, the
 * engine the send step's one refresh-and-retry (OA-16) uses, and refresh events written to the audit log as
 * security events.
 */
const refreshOutcomes = {
  refreshed: 'success',
  sibling_refreshed: 'sibling_rotated',
  refresh_failed: 'failure',
  needs_reauth: 'invalid_grant',
  commit_failed: 'failure',
} as const satisfies Record<RefreshEvent['kind'], RefreshOutcome>;

export function createGatewayRefresh(deps: GatewayRefreshDependencies) {
  const { store, tenants } = deps;
  // Observer writes (audit, telemetry) run detached from the refresh; close() waits for them so that no store
  // query runs after the gateway is closed.
  const detached = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    const settled = work.catch(() => undefined).finally(() => detached.delete(settled));
    detached.add(settled);
  };
  const record = (event: RefreshEvent) => {
    report(event);
    if (deps.audit === undefined) return;
    const entry =
      event.kind === 'needs_reauth'
        ? { event: 'needs_reauth' as const, decision: 'error' as const, code: 'reauth_required', detail: event.reason }
        : event.kind === 'refresh_failed'
          ? { event: 'refresh_failed' as const, decision: 'error' as const, detail: event.reason }
          : event.kind === 'commit_failed'
            ? { event: 'refresh_failed' as const, decision: 'error' as const, detail: 'commit_failed' }
            : undefined;
    if (entry === undefined) return;
    track(
      deps.audit.recordSecurityEvent({ tenant: event.tenantId, ...entry, target: `connection:${event.connectionId}` }),
    );
  };
  const report = (event: RefreshEvent) => {
    const { telemetry } = deps;
    if (telemetry === undefined) return;
    const outcome = refreshOutcomes[event.kind];
    // Events carry ids only; the service and subject labels come from the connection row.
    const work = store.connections.get(event.tenantId, event.connectionId).then((connection) => {
      if (connection === undefined) return;
      telemetry.refresh({ tenant: event.tenantId, service: connection.service, outcome });
      if (event.kind === 'needs_reauth') {
        telemetry.connectionStatus({
          tenant: event.tenantId,
          service: connection.service,
          subject: connection.subject,
          status: 'needs_reauth',
        });
      }
    });
    track(work);
  };
  const engine: RefreshEngine = createRefreshEngine({
    store,
    vault: deps.vault,
    clock: deps.clock,
    ...(deps.lock ? { lock: deps.lock } : {}),
    ...(deps.marginMs === undefined ? {} : { marginMs: deps.marginMs }),
    ...(deps.backgroundIntervalMs === undefined ? {} : { backgroundIntervalMs: deps.backgroundIntervalMs }),
    sendRefresh: createServiceRefreshSender({
      async authOf(tenant, service) {
        const auth = await deps.authOf(tenant, service);
        if (auth === undefined) {
          throw new GatehouseError('not_found', `No OAuth service ${service} in tenant ${tenant}`, { service });
        }
        return auth;
      },
      readClientSecret: deps.readClientSecret,
      ...(deps.refuseClient === undefined ? {} : { refuseClient: deps.refuseClient }),
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    }),
    onEvent: record,
  });

  let started = false;
  return {
    engine,
    /**
     * Starts the proactive refresh of idle connections (with jitter). Each sweep takes the tenants served then that
     * have an `authorization_code` service (none: nothing is read), so a tenant created at run time is swept too
     * (issue 14). Idempotent.
     */
    start(): void {
      if (started) return;
      started = true;
      engine.start(() =>
        [...tenants.values()]
          .filter((t) => [...t.services.values()].some((s) => refreshesIdle(s.auth)))
          .map((t) => t.id),
      );
    },
    /** Stops the sweep, waits for a running one and for its audit and telemetry writes. */
    async close(): Promise<void> {
      started = false;
      await engine.stop();
      while (detached.size > 0) await Promise.all([...detached]);
    },
    /**
     * The seam of `resolveCredential`: a usable access token of the connection (and its version), refreshed when due;
     * never one older than `connection`, the row the call read and checked.
     */
    ensureFresh(connection: ConnectionRecord): Promise<FreshToken> {
      return engine.ensureFresh(connection.tenantId, connection.id, { knownVersion: connection.tokenVersion });
    },
    /** True for services whose 401s get one forced refresh and one retry (user connections, OA-16). */
    refreshesOn401(auth: ServiceAuthConfig): boolean {
      return auth.type === 'oauth2' && auth.grant === 'authorization_code';
    },
  };
}

const defaultMarginSeconds = 60;

/** The engine settings of a config: the sweep interval, and the cross-process lock. */
export function refreshSettingsOf(
  config: Config,
  lock?: RefreshLock,
): Pick<GatewayRefreshDependencies, 'backgroundIntervalMs' | 'lock'> {
  return {
    backgroundIntervalMs: config.oauthRefresh.backgroundIntervalSeconds * 1000,
    ...(lock === undefined ? {} : { lock }),
  };
}

/** The refresh margin of the tenants served now, kept as they are created, changed and removed (issue 14). */
export interface RefreshMargins {
  put(tenant: TenantConfig): void;
  remove(tenantId: string): void;
  /**
   * The engine takes one margin, so it is the smallest `refreshMarginSeconds` of the `authorization_code` services
   * (a larger one would refresh the others earlier than asked; with tokens shorter-lived than the margin, on every
   * call); 60 s when there is none.
   */
  marginMs(): number;
}

export function createRefreshMargins(initial: readonly TenantConfig[]): RefreshMargins {
  const byTenant = new Map<string, readonly number[]>();
  // How many services use each margin: few distinct values, so the smallest is found without a pass over tenants.
  const uses = new Map<number, number>();
  let smallest: number | undefined;
  const count = (margins: readonly number[], by: 1 | -1) => {
    for (const margin of margins) {
      const left = (uses.get(margin) ?? 0) + by;
      if (left === 0) uses.delete(margin);
      else uses.set(margin, left);
    }
    smallest = uses.size === 0 ? undefined : Math.min(...uses.keys());
  };
  const margins: RefreshMargins = {
    put(tenant) {
      margins.remove(tenant.id);
      const own = tenant.services.flatMap((s) =>
        refreshesIdle(s.auth) && s.auth.type === 'oauth2' ? [s.auth.refreshMarginSeconds ?? defaultMarginSeconds] : [],
      );
      if (own.length === 0) return;
      byTenant.set(tenant.id, own);
      count(own, 1);
    },
    remove(tenantId) {
      const own = byTenant.get(tenantId);
      if (own === undefined) return;
      byTenant.delete(tenantId);
      count(own, -1);
    },
    marginMs: () => (smallest ?? defaultMarginSeconds) * 1000,
  };
  for (const tenant of initial) margins.put(tenant);
  return margins;
}

function refreshesIdle(auth: ServiceAuthConfig): boolean {
  return auth.type === 'oauth2' && auth.grant === 'authorization_code';
}

export type GatewayRefresh = ReturnType<typeof createGatewayRefresh>;
