import { GatehouseError } from '../core/index.ts';
import type { Gateway } from '../gateway/index.ts';
import { type AdminRoute, adminRoleSets } from './create-admin-routes.ts';

const statuses = new Set(['pending', 'approved', 'denied', 'consumed']);

/**
 * Admin routes for approvals (SC-05): list a tenant's requests, approve or deny one. Who decided is the admin
 * token holder, optionally naming themselves (`{ "by": "bob" }`); who and when are stored on the request and
 * an audit record is written. A tenant that does not exist answers the same 404 as a missing approval (MT-01).
 */
export function createApprovalAdminRoutes(gateway: Gateway): AdminRoute[] {
  const approvals = () => {
    if (gateway.approvals === undefined) throw new GatehouseError('not_found', 'Approvals are not available');
    return gateway.approvals;
  };
  const requireTenant = async (tenant: string) => {
    if (!(await gateway.admin.listTenants()).some((t) => t.id === tenant)) {
      throw new GatehouseError('not_found', `No tenant ${tenant}`);
    }
  };
  const decide = (decision: 'approved' | 'denied'): AdminRoute['handle'] => {
    return async ({ params, readJson }) => {
      const tenant = params['tenant'] as string;
      await requireTenant(tenant);
      const body = await readJson();
      const by = body['by'] === undefined ? 'admin' : body['by'];
      if (typeof by !== 'string' || !/^[A-Za-z0-9 ._@+-]{1,100}$/.test(by)) {
        throw new GatehouseError('invalid_request', 'by: expected 1-100 letters, digits, spaces or ._@+-');
      }
      const approval = await approvals().decide(tenant, params['id'] as string, decision, `admin:${by}`, 'admin_api');
      return { body: { approval } };
    };
  };
  return [
    {
      method: 'GET',
      path: '/tenants/:tenant/approvals',
      summary: "List a tenant's approval requests, newest first (?status=pending|approved|denied|consumed)",
      roles: adminRoleSets.decideApprovals,
      query: { status: 'Only requests in this state: pending, approved, denied or consumed' },
      handle: async ({ params, query }) => {
        const tenant = params['tenant'] as string;
        await requireTenant(tenant);
        const status = query.get('status') ?? undefined;
        if (status !== undefined && !statuses.has(status)) {
          throw new GatehouseError('invalid_request', 'status: expected pending, approved, denied or consumed');
        }
        return {
          body: {
            approvals: await approvals().list(tenant, status as 'pending' | 'approved' | 'denied' | 'consumed'),
          },
        };
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/approvals/:id/approve',
      summary: 'Approve one pending tool call (it may then run exactly once, until the approval expires)',
      roles: adminRoleSets.decideApprovals,
      handle: decide('approved'),
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/approvals/:id/deny',
      summary: 'Deny one pending tool call',
      roles: adminRoleSets.decideApprovals,
      handle: decide('denied'),
    },
  ];
}
