import { adminRoleSets } from '../create-admin-routes.ts';
import { alertsPage } from './alerts-page.ts';
import type { ConsolePage } from './console-page.ts';
import { notBuiltPage } from './not-built-page.ts';
import { servicesPage } from './services-page.ts';
import { toolsetsPage } from './toolsets-page.ts';

/**
 * Every page of the console, in one place: `createConsoleRoutes` serves each (GET, and POST when it has `post`)
 * under `/console/:tenant`. Add a page by appending its `ConsolePage` here (see console-page.ts).
 */
export const consolePages: readonly ConsolePage[] = [
  notBuiltPage('overview', adminRoleSets.readUsage, 'read usage with <code>GET /api/v1/tenants/{tenant}/usage</code>.'),
  servicesPage,
  toolsetsPage,
  notBuiltPage('connections', adminRoleSets.connections, 'use your account page or the admin API.'),
  notBuiltPage('approvals', adminRoleSets.decideApprovals, 'decide with the admin API or the approval link.'),
  notBuiltPage('audit', adminRoleSets.readAudit, 'query <code>GET /api/v1/tenants/{tenant}/audit</code>.'),
  notBuiltPage('users', adminRoleSets.configure, 'manage users with <code>/api/v1/tenants/{tenant}/users</code>.'),
  alertsPage,
];
