import { adminRoleSets } from '../create-admin-routes.ts';
import type { ConsolePage } from './console-page.ts';
import { notBuiltPage } from './not-built-page.ts';

/**
 * Every page of the console, in one place: `createConsoleRoutes` serves each (GET, and POST when it has `post`)
 * under `/console/:tenant`. Add a page by appending its `ConsolePage` here (see console-page.ts).
 */
export const consolePages: readonly ConsolePage[] = [
  notBuiltPage('overview', adminRoleSets.readUsage, 'read usage with <code>GET /api/v1/tenants/{tenant}/usage</code>.'),
  notBuiltPage(
    'services',
    adminRoleSets.configure,
    'add and edit services with <code>/api/v1/tenants/{tenant}/services</code> (see docs/admin-api.md).',
  ),
  notBuiltPage(
    'toolsets',
    adminRoleSets.configure,
    'edit toolsets with <code>/api/v1/tenants/{tenant}/toolsets</code> (see docs/admin-api.md).',
  ),
  notBuiltPage('connections', adminRoleSets.connections, 'use your account page or the admin API.'),
  notBuiltPage('approvals', adminRoleSets.decideApprovals, 'decide with the admin API or the approval link.'),
  notBuiltPage('audit', adminRoleSets.readAudit, 'query <code>GET /api/v1/tenants/{tenant}/audit</code>.'),
  notBuiltPage('users', adminRoleSets.configure, 'manage users with <code>/api/v1/tenants/{tenant}/users</code>.'),
  notBuiltPage('alerts', adminRoleSets.configure, 'alerts are set in the config file (<code>alerts:</code>).'),
];
