export {
  type ConsoleDependencies,
  type ConsolePage,
  type ConsolePageContext,
  type ConsolePageResult,
  type ConsoleRoutesOptions,
  type ConsoleSection,
  createConsoleRoutes,
} from './console/index.ts';
export {
  type AdminAnswer,
  type AdminCaller,
  type AdminContext,
  type AdminDenial,
  type AdminRoute,
  type AdminRoutesOptions,
  type AdminUserAuthentication,
  adminRoleSets,
  createAdminRoutes,
  describeAdminRoutes,
} from './create-admin-routes.ts';
export { type AlertAdminOptions, type AlertRuleView, createAlertAdminRoutes } from './create-alert-admin-routes.ts';
export { createApprovalAdminRoutes } from './create-approval-admin-routes.ts';
export { createApprovalPageRoutes } from './create-approval-page-routes.ts';
export { type AuditAdminRoutesOptions, createAuditAdminRoutes } from './create-audit-admin-routes.ts';
export { createConnectRoutes, escapeHtml, parseCookies } from './create-connect-routes.ts';
export { createConnectionAdminRoutes } from './create-connection-admin-routes.ts';
export {
  createHttpApp,
  type HttpApp,
  type HttpAppOptions,
  type HttpLimits,
  type HttpLogger,
} from './create-http-app.ts';
export { createMetricsRoute, type MetricsRouteOptions } from './create-metrics-route.ts';
export { createOAuthServerRoutes } from './create-oauth-server-routes.ts';
export {
  createOperatorRoutes,
  type OperatorRoutes,
  type OperatorRoutesOptions,
  type OperatorSignInEvent,
} from './create-operator-routes.ts';
export { createOriginCheck, type OriginCheckOptions } from './create-origin-check.ts';
export {
  createRouter,
  type HttpContext,
  type HttpRoute,
  type HttpRouteMethod,
  type RouteMatch,
} from './create-router.ts';
export { createTenantAdminRoutes } from './create-tenant-admin-routes.ts';
export { createTenantLifecycleRoutes, type TenantLifecycleRoutesOptions } from './create-tenant-lifecycle-routes.ts';
export {
  createTenantResourceRoutes,
  etagOf,
  type TenantConfigDocuments,
  type TenantResourceRoutesOptions,
} from './create-tenant-resource-routes.ts';
export { createUsageAdminRoutes, type UsageAdminOptions } from './create-usage-admin-routes.ts';
export { createUserAdminRoutes } from './create-user-admin-routes.ts';
export {
  createUserRoutes,
  type UserConsentSource,
  type UserConsentView,
  type UserRoutesOptions,
} from './create-user-routes.ts';
export { describeRequest, type RequestLogEntry, redactTarget } from './describe-request.ts';
export { readBody } from './read-body.ts';
export {
  type ListenOptions,
  type RunningHttpServer,
  type ShutdownOptions,
  startHttpServer,
} from './start-http-server.ts';
export { writeProblem } from './write-problem.ts';
