import { GatehouseError } from '../core/index.ts';
import type { GatewayConnections } from '../gateway/index.ts';
import { type AdminCaller, type AdminRoute, adminRoleSets } from './create-admin-routes.ts';

/**
 * The subject a caller's connections are limited to: a member (without owner or admin) manages only their own
 * (subject = their user id); everyone else any subject of the tenant.
 */
function ownSubjectOf(caller: AdminCaller): string | undefined {
  if (caller.kind === 'operator' || caller.roles.includes('owner') || caller.roles.includes('admin')) return undefined;
  return caller.userId;
}

/** Admin routes of OAuth connections: list (never a token), create a connect link, disconnect. */
export function createConnectionAdminRoutes(connections: GatewayConnections): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/tenants/:tenant/connections',
      summary: "List a tenant's OAuth connections (status, scopes, expiry; never a token); a member sees their own",
      roles: adminRoleSets.connections,
      handle: async ({ params, caller }) => {
        const own = ownSubjectOf(caller);
        const all = await connections.list(params['tenant'] as string);
        return { body: { connections: own === undefined ? all : all.filter((c) => c.subject === own) } };
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/connections',
      summary: 'Create a signed, single-use connect link (10 minutes) for {service, subject}; a member for themselves',
      roles: adminRoleSets.connections,
      body: {
        service: { type: 'string', required: true, description: 'The OAuth service id in this tenant' },
        subject: { type: 'string', required: true, description: 'Whose account is connected (e.g. alice, or shared)' },
        scopes: { type: 'string[]', description: "Scopes to ask for (default: what the tenant's toolsets need)" },
        returnTo: { type: 'string', description: 'A same-origin relative path to show after consent' },
      },
      handle: async ({ params, readJson, caller }) => {
        const body = await readJson();
        const service = body['service'];
        const subject = body['subject'];
        const scopes = body['scopes'];
        const returnTo = body['returnTo'];
        if (typeof service !== 'string' || typeof subject !== 'string') {
          throw new GatehouseError('invalid_request', 'Expected {"service": string, "subject": string}');
        }
        const own = ownSubjectOf(caller);
        if (own !== undefined && subject !== own) {
          throw new GatehouseError('forbidden', 'subject: a member connects their own account only', {
            field: 'subject',
          });
        }
        if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string'))) {
          throw new GatehouseError('invalid_request', 'scopes must be an array of strings', { field: 'scopes' });
        }
        if (returnTo !== undefined && typeof returnTo !== 'string') {
          throw new GatehouseError('invalid_request', 'returnTo must be a string', { field: 'returnTo' });
        }
        const link = await connections.createLink(params['tenant'] as string, {
          service,
          subject,
          ...(scopes === undefined ? {} : { scopes: scopes as string[] }),
          ...(returnTo === undefined ? {} : { returnTo }),
        });
        return { status: 201, body: link };
      },
    },
    {
      method: 'DELETE',
      path: '/tenants/:tenant/connections/:connection',
      summary: 'Disconnect: revoke the tokens upstream (RFC 7009, where supported) and delete the connection',
      roles: adminRoleSets.connections,
      handle: async ({ params, caller, actor }) => {
        const tenant = params['tenant'] as string;
        const id = params['connection'] as string;
        const own = ownSubjectOf(caller);
        if (own !== undefined && !(await connections.list(tenant)).some((c) => c.id === id && c.subject === own)) {
          // Another person's connection answers like a missing one: a member learns nothing about it.
          throw new GatehouseError('not_found', `No connection ${id}`);
        }
        return { body: await connections.disconnect(tenant, id, actor) };
      },
    },
  ];
}
