/**
 * The roles a user can hold in their tenant (issue 14). What each role allows is declared by every admin route
 * in its route table (http/), checked once per request; the operator's admin token is the super-admin across
 * tenants and passes every check.
 * - `owner`: everything in the tenant, including granting `owner`;
 * - `admin`: configures services, toolsets, client keys, approval rules, limits, alerts, users and their roles
 *   (but cannot grant or revoke `owner`);
 * - `approver`: decides approvals and reads the audit log;
 * - `member`: uses toolsets and manages their own connections;
 * - `auditor`: reads the audit log and usage, nothing else.
 */
export const tenantRoles = ['owner', 'admin', 'approver', 'member', 'auditor'] as const;

export type TenantRole = (typeof tenantRoles)[number];

/** How wide each role is (a role added to `tenantRoles` does not compile without one). */
const widthOf: Readonly<Record<TenantRole, number>> = { member: 0, auditor: 1, approver: 2, admin: 3, owner: 4 };

/** The roles from the narrowest to the widest: the order a picker offers them in, so what it gives unpicked is least. */
export const tenantRolesNarrowestFirst: readonly TenantRole[] = [...tenantRoles].sort(
  (a, b) => widthOf[a] - widthOf[b],
);

export function isTenantRole(value: unknown): value is TenantRole {
  return typeof value === 'string' && (tenantRoles as readonly string[]).includes(value);
}
