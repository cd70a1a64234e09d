import type { AuditLog, RefreshOutcome, Telemetry } from '../audit/index.ts';
import { type Clock, GatehouseError, type ServiceAuthConfig } from '../core/index.ts';
import {
  createRefreshEngine,
  createServiceRefreshSender,
  type RefreshEngine,
  type RefreshEvent,
  type RefreshLock,
} from '../oauth/index.ts';
import type { ConnectionRecord, Store } from '../store/index.ts';
import type { UpstreamCredential } from '../upstream/index.ts';
import type { Vault } from '../vault/index.ts';
import type { TenantRuntime } from './build-tenants.ts';

export interface GatewayRefreshDependencies {
  readonly store: Store;
  readonly vault: Vault;
  readonly clock: Clock;
  readonly tenants: ReadonlyMap<string, TenantRuntime>;
  readClientSecret(tenant: string, service: string): Promise<string | undefined>;
  readonly audit?: Pick<AuditLog, 'recordSecurityEvent'>;
  /** Refresh outcomes and `needs_reauth` transitions feed metrics and alerts. */
  readonly telemetry?: Pick<Telemetry, 'refresh' | 'connectionStatus'>;
  /** Cross-process lock (e.g. the Redis lease); default the store's. */
  readonly lock?: RefreshLock;
  readonly marginMs?: number;
}

/**
 * The gateway's side of the refresh engine: the seam `resolveCredential` calls for an oauth2 connection, the
 * OA-16 forced refresh after an upstream 401, and refresh events written to the audit log as security events.
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
    void deps.audit
      .recordSecurityEvent({ tenant: event.tenantId, ...entry, target: `connection:${event.connectionId}` })
      .catch(() => undefined);
  };
  const report = (event: RefreshEvent) => {
    const { telemetry } = deps;
    if (telemetry === undefined) return;
    const outcome = refreshOutcomes[event.kind];
    // Events carry ids only; the service and subject labels come from the connection row.
    void store.connections
      .get(event.tenantId, event.connectionId)
      .then((connection) => {
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
      })
      .catch(() => undefined);
  };
  const engine: RefreshEngine = createRefreshEngine({
    store,
    vault: deps.vault,
    clock: deps.clock,
    ...(deps.lock ? { lock: deps.lock } : {}),
    ...(deps.marginMs === undefined ? {} : { marginMs: deps.marginMs }),
    sendRefresh: createServiceRefreshSender({
      authOf(tenant, service) {
        const auth = tenants.get(tenant)?.services.get(service)?.auth;
        if (auth?.type !== 'oauth2') {
          throw new GatehouseError('not_found', `No OAuth service ${service} in tenant ${tenant}`, { service });
        }
        return auth;
      },
      readClientSecret: deps.readClientSecret,
    }),
    onEvent: record,
  });

  return {
    engine,
    /** The seam of `resolveCredential`: a usable access token of the connection, refreshed when due. */
    async ensureFresh(connection: ConnectionRecord): Promise<string> {
      return (await engine.ensureFresh(connection.tenantId, connection.id)).accessToken;
    },
    /** True for services whose 401s get one forced refresh and one retry (user connections, OA-16). */
    refreshesOn401(auth: ServiceAuthConfig): boolean {
      return auth.type === 'oauth2' && auth.grant === 'authorization_code';
    },
    /**
     * After an upstream 401: one forced refresh of the caller's connection (shared with concurrent callers whose
     * token was refused too) and the credential for the one retry.
     */
    async forceCredential(tenant: string, service: string, subject: string): Promise<UpstreamCredential> {
      const connection = await store.connections.find(tenant, service, subject);
      if (connection === undefined) {
        throw new GatehouseError('connection_required', `Service ${service} is not connected for ${subject}`, {
          service,
        });
      }
      const token = await engine.ensureFresh(tenant, connection.id, {
        force: true,
        rejectedVersion: connection.tokenVersion,
      });
      return { type: 'bearer', token: token.accessToken };
    },
    /** The error of a second 401 (OA-16): no further refresh, no loop. */
    unauthorized(service: string): GatehouseError {
      return new GatehouseError(
        'upstream_unauthorized',
        `The upstream ${service} refused the refreshed token; the connection may need to be authorised again`,
        { service, status: 401 },
      );
    },
  };
}

export type GatewayRefresh = ReturnType<typeof createGatewayRefresh>;
