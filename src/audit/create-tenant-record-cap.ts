/** Options of a per-tenant, per-minute cap on records an unauthenticated caller can cause. */
export interface TenantRecordCapOptions {
  /** Most records per tenant per calendar minute (default 60). */
  readonly maxPerMinute?: number;
  /** Milliseconds clock (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * A per-tenant budget of audit records per minute, for events anyone who can reach the gateway can cause (a
 * refused admin request, a rejected OAuth callback): without it such a caller could grow a tenant's append-only
 * log at request rate. Returns `admit(tenant)`: true while the tenant's current minute has room (and counts it).
 * One window per tenant that has been seen; tenants are configured ids, never caller-chosen names.
 */
export function createTenantRecordCap(options: TenantRecordCapOptions = {}): (tenant: string) => boolean {
  const maxPerMinute = options.maxPerMinute ?? 60;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { minute: number; count: number }>();
  return (tenant) => {
    const minute = Math.floor(now() / 60_000);
    const window = windows.get(tenant);
    if (window === undefined || window.minute !== minute) {
      windows.set(tenant, { minute, count: 1 });
      return true;
    }
    window.count++;
    return window.count <= maxPerMinute;
  };
}
