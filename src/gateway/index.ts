export { refuseTakenKeysOf } from './client-keys.ts';
export type {
  Caller,
  CallOutcome,
  CallRelay,
  CallToolOptions,
  ClientKeySummary,
  CompletionRequest,
  ConsentSummary,
  ConsentView,
  CreatedUser,
  FederatedCapabilities,
  FederatedOutcome,
  Gateway,
  GatewayAdmin,
  GatewayOAuthServer,
  GatewayUsers,
  ListedPrompt,
  ListedResource,
  ListedResourceTemplate,
  ListedTool,
  RelayedLogMessage,
  ServerQuestion,
  SignedInUser,
  SignInOptions,
  StartedSso,
  TenantSummary,
  UserRequestRejection,
  UserSessionCookie,
  UserSummary,
} from './contract.ts';
export type { ApprovalTasks, ApprovalTaskView } from './create-approval-tasks.ts';
export {
  type ApprovalDecisionEvent,
  type Approvals,
  type ApprovalView,
  createApprovals,
} from './create-approvals.ts';
export type { FederatedServiceStatus } from './create-federation.ts';
export { createGateway, type GatewayDependencies } from './create-gateway.ts';
export type {
  ConnectedAccount,
  ConnectionSummary,
  ConnectLinkAnswer,
  ConnectLinkView,
  DescribedSiteChoice,
  GatewayConnections,
  OpenedLink,
} from './create-gateway-connections.ts';
export { registrationLimits } from './create-gateway-oauth-server.ts';
export { createTenantUserAccounts } from './create-gateway-users.ts';
export { createTenantConfigs, type TenantConfigs, type TenantConfigWrite } from './create-tenant-configs.ts';
export type { ConnectLinkRequest, MintConnectLink } from './decide-call.ts';
export { decideLinkOpener, type LinkOpener, type LinkOpening } from './decide-link-opener.ts';
export { deleteTenant } from './delete-tenant.ts';
export {
  describeProvider,
  describeProviders,
  type ProviderPack,
  type ProviderPackTool,
  type ProviderSummary,
} from './describe-providers.ts';
export { diffTenantDocuments, type ResourceChange, summarizeChanges } from './diff-tenant-documents.ts';
export { clientKeyPrefix, createClientKey, hashClientKey } from './hash-client-key.ts';
export {
  type ConfigWarning,
  inspectConfig,
  inspectOverlays,
  inspectReadOnlyLinkScopes,
  inspectSafeWrites,
  type OverlaidTool,
  type OverlayReport,
  type ReadOnlyLinkScopes,
  type ToolsetReport,
} from './inspect-config.ts';
export type { TenantInspection } from './inspect-tenant.ts';
export { type ClientKeyRequest, issueClientKey } from './issue-client-key.ts';
export { previewDescription } from './preview-description.ts';
export { purgeTenant, type TenantPurgeReport } from './purge-tenant.ts';
export {
  type LeftAtStart,
  type ReconcileReport,
  reconcileTenantConfigs,
  tenantsLeftAtStart,
} from './reconcile-tenant-configs.ts';
export { toLogLevel } from './relay-server-log.ts';
export {
  createServiceDescriptions,
  type DescriptionPreview,
  descriptionFieldOf,
  type PreviewTool,
  type ServiceDescriptions,
  uploadFormats,
} from './service-descriptions.ts';
export { createTenantsInForce, type TenantsInForce } from './tenants-in-force.ts';
export { type TenantConfigWatch, watchTenantConfigs } from './watch-tenant-configs.ts';
