import { adminRoleSets } from '../create-admin-routes.ts';
import { approvalsPage } from './approvals-page.ts';
import { auditExportPage, auditPage } from './audit-page.ts';
import { connectionsPage } from './connections-page.ts';
import type { ConsolePage } from './console-page.ts';
import { notBuiltPage } from './not-built-page.ts';
import { overviewPage } from './overview-page.ts';
import { usersPage } from './users-page.ts';

/**
 * Every page of the console, in one place: `createConsoleRoutes` serves each (GET, and POST when it has `post`)
 * under `/console/:tenant`. Add a page by appending its `ConsolePage` here (see console-page.ts).
 */
export const consolePages: readonly ConsolePage[] = [
  overviewPage,
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
  connectionsPage,
  approvalsPage,
  auditPage,
  auditExportPage,
  usersPage,
  notBuiltPage('alerts', adminRoleSets.configure, 'alerts are set in the config file (<code>alerts:</code>).'),
];
