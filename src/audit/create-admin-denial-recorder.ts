import type { AuditLog } from './create-audit-log.ts';
import type { GatewayMetrics } from './create-gateway-metrics.ts';
import { createTenantRecordCap } from './create-tenant-record-cap.ts';

/** An admin request refused with 401 or 403 (structurally the http module's `AdminDenial`). */
export interface AdminDenialEvent {
  /** The raw `:tenant` path segment, if the route has one: untrusted, chosen by whoever sent the request. */
  readonly tenant: string | undefined;
  readonly method: string;
  /** The route template (`/api/v1/tenants/:tenant/audit`), never the request's own path. */
  readonly route: string;
  readonly reason: string;
  /** `unauthenticated` (401, the default) or `forbidden` (403: a user whose roles do not allow the route). */
  readonly code?: string;
  /** The refused user (`user:<id>`), for a 403. */
  readonly subject?: string;
  readonly requestId: string;
}

export interface AdminDenialRecorderOptions {
  /** Tenant ids served (a list, or a lookup when tenants come and go at run time): only these get an audit record. */
  readonly tenants: readonly string[] | ((tenant: string) => boolean);
  readonly audit: Pick<AuditLog, 'recordSecurityEvent'> | undefined;
  readonly metrics: Pick<GatewayMetrics, 'adminDenials'>;
  readonly onError?: (error: unknown) => void;
  /** Most `admin_denied` records per tenant per minute (default 60); refusals beyond it are only counted. */
  readonly maxPerMinute?: number;
  /** Milliseconds clock for the per-minute cap (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * `admin_denied` security events. The audit log is per tenant (one hash chain and fingerprint key each), so a
 * refusal is recorded in the chain of the tenant named in the path when that is a configured tenant. Otherwise
 * (routes without a tenant such as `/api/v1/tenants`, or a made-up tenant) there is no chain it belongs to: writing
 * one would let an unauthenticated caller create chains for arbitrary names, so only the metric counts it
 * (`tenant="_none"`). The metric is counted for every refusal, audited or not.
 *
 * The records of a tenant are capped per minute: without a cap anyone who can reach the admin API could grow a
 * tenant's append-only log at request rate. Refusals over the cap are counted (`audited="false"`), not recorded.
 */
export function createAdminDenialRecorder(options: AdminDenialRecorderOptions): (denial: AdminDenialEvent) => void {
  const listed = typeof options.tenants === 'function' ? undefined : new Set(options.tenants);
  const isTenant = typeof options.tenants === 'function' ? options.tenants : (t: string) => listed?.has(t) === true;
  const admit = createTenantRecordCap({
    ...(options.maxPerMinute === undefined ? {} : { maxPerMinute: options.maxPerMinute }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return (denial) => {
    const tenant = denial.tenant !== undefined && isTenant(denial.tenant) ? denial.tenant : undefined;
    const audited = tenant !== undefined && options.audit !== undefined && admit(tenant);
    options.metrics.adminDenials.inc({ tenant: tenant ?? '_none', audited: audited ? 'true' : 'false' });
    if (!audited) return;
    void options.audit
      ?.recordSecurityEvent({
        tenant,
        event: 'admin_denied',
        decision: 'deny',
        requestId: denial.requestId,
        code: denial.code ?? 'unauthenticated',
        ...(denial.subject === undefined ? {} : { subject: denial.subject }),
        detail: denial.reason,
        target: `admin:${denial.method}:${denial.route}`,
      })
      .catch((error: unknown) => options.onError?.(error));
  };
}
