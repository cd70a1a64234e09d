import { alertsPage } from './alerts-page.ts';
import { approvalsPage } from './approvals-page.ts';
import { auditExportPage, auditPage } from './audit-page.ts';
import { connectionsPage } from './connections-page.ts';
import type { ConsolePage } from './console-page.ts';
import { overviewPage } from './overview-page.ts';
import { servicesPage } from './services-page.ts';
import { tokensPage } from './tokens-page.ts';
import { toolsetsPage } from './toolsets-page.ts';
import { usersPage } from './users-page.ts';

/**
 * Every page of the console, in one place: `createConsoleRoutes` serves each (GET, and POST when it has `post`)
 * under `/console/:tenant`. Add a page by appending its `ConsolePage` here (see console-page.ts).
 */
export const consolePages: readonly ConsolePage[] = [
  overviewPage,
  servicesPage,
  toolsetsPage,
  connectionsPage,
  approvalsPage,
  auditPage,
  auditExportPage,
  usersPage,
  alertsPage,
  tokensPage,
];
