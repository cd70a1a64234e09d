import { GatehouseError } from '../core/index.ts';
import type { GatewayConnections } from '../gateway/index.ts';
import type { AdminRoute } from './create-admin-routes.ts';

/** Admin routes of OAuth connections: list (never a token), create a connect link, disconnect. */
export function createConnectionAdminRoutes(connections: GatewayConnections): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/tenants/:tenant/connections',
      summary: "List a tenant's OAuth connections (status, scopes, expiry; never a token)",
      handle: async ({ params }) => ({ body: { connections: await connections.list(params['tenant'] as string) } }),
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/connections',
      summary: 'Create a signed, single-use connect link (10 minutes) for {service, subject}',
      body: {
        service: { type: 'string', required: true, description: 'The OAuth service id in this tenant' },
        subject: { type: 'string', required: true, description: 'Whose account is connected (e.g. alice, or shared)' },
        scopes: { type: 'string[]', description: "Scopes to ask for (default: what the tenant's toolsets need)" },
        returnTo: { type: 'string', description: 'A same-origin relative path to show after consent' },
      },
      handle: async ({ params, readJson }) => {
        const body = await readJson();
        const service = body['service'];
        const subject = body['subject'];
        const scopes = body['scopes'];
        const returnTo = body['returnTo'];
        if (typeof service !== 'string' || typeof subject !== 'string') {
          throw new GatehouseError('invalid_request', 'Expected {"service": string, "subject": string}');
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
      handle: async ({ params }) => ({
        body: await connections.disconnect(params['tenant'] as string, params['connection'] as string),
      }),
    },
  ];
}
