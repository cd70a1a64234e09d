import type { AuditLog } from './create-audit-log.ts';
import type { GatewayMetrics } from './create-gateway-metrics.ts';

/** An admin request refused with 401 (structurally the http module's `AdminDenial`). */
export interface AdminDenialEvent {
  /** The raw `:tenant` path segment, if the route has one: untrusted, chosen by whoever sent the request. */
  readonly tenant: string | undefined;
  readonly method: string;
  /** The route template (`/api/v1/tenants/:tenant/audit`), never the request's own path. */
  readonly route: string;
  readonly reason: string;
  readonly requestId: string;
}

export interface AdminDenialRecorderOptions {
  /** Configured tenant ids: only these get an audit record. */
  readonly tenants: readonly string[];
  readonly audit: Pick<AuditLog, 'recordSecurityEvent'> | undefined;
  readonly metrics: Pick<GatewayMetrics, 'adminDenials'>;
  readonly onError?: (error: unknown) => void;
}

/**
 * `admin_denied` security events. The audit log is per tenant (one hash chain and fingerprint key each), so a
 * refusal is recorded in the chain of the tenant named in the path when that is a configured tenant. Otherwise
 * (routes without a tenant such as `/api/v1/tenants`, or a made-up tenant) there is no chain it belongs to: writing
 * one would let an unauthenticated caller create chains for arbitrary names, so only the metric counts it
 * (`tenant="_none"`). The metric is counted for every refusal, audited or not.
 */
export function createAdminDenialRecorder(options: AdminDenialRecorderOptions): (denial: AdminDenialEvent) => void {
  const tenants = new Set(options.tenants);
  return (denial) => {
    const tenant = denial.tenant !== undefined && tenants.has(denial.tenant) ? denial.tenant : undefined;
    const audited = tenant !== undefined && options.audit !== undefined;
    options.metrics.adminDenials.inc({ tenant: tenant ?? '_none', audited: audited ? 'true' : 'false' });
    if (!audited) return;
    void options.audit
      ?.recordSecurityEvent({
        tenant,
        event: 'admin_denied',
        decision: 'deny',
        requestId: denial.requestId,
        code: 'unauthenticated',
        detail: denial.reason,
        target: `admin:${denial.method}:${denial.route}`,
      })
      .catch((error: unknown) => options.onError?.(error));
  };
}
