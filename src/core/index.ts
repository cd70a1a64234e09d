export { type BearerChallenge, readBearerChallenge, splitScopes } from './bearer-challenge.ts';
export { type CallCancellation, cancelCall, createCallCancellation } from './call-cancellation.ts';
export { addressBudgetOf, canonicalAddress } from './canonical-address.ts';
export { type Clock, systemClock } from './clock.ts';
export {
  adminTokenWeakness,
  type ClientKeyConfig,
  type Config,
  type ConfigTree,
  configSchema,
  configuresServer,
  type Environment,
  fillServiceReferences,
  findLiteralSecrets,
  fixedHeadersSchema,
  formatPath,
  loadConfigFile,
  type OAuthQuirk,
  type OAuthServerConfig,
  oauthQuirks,
  type ParseConfigOptions,
  type ProviderExpander,
  type ProviderExpansionIssue,
  parseConfig,
  parseTenantDocument,
  readConfigTree,
  regularExpression,
  requireResolvedEnv,
  reservedAuthorizeParams,
  resolveTenantDocumentPaths,
  type ServiceAuthConfig,
  type ServiceConfig,
  type TenantAlertRuleConfig,
  type TenantConfig,
  type TenantDocument,
  type ToolsetConfig,
  tenantAlertMetrics,
  tenantResourceSchemas,
  tokenHeaderSchema,
  type UnresolvedEnvPolicy,
  type UnresolvedVariable,
  type UsersConfig,
} from './config.ts';
export {
  type ConnectionVariable,
  connectionVariableRules,
  fillConnectionVariables,
  isConnectionVariable,
  placeholdersOf,
} from './connection-variables.ts';
export { disableStorageWhenIdle } from './disable-storage-when-idle.ts';
export { editDistance } from './edit-distance.ts';
export {
  decisionOf,
  type ErrorCode,
  type ErrorDetails,
  type ErrorRule,
  errorCodes,
  errorTable,
  GatehouseError,
  httpStatusOf,
  isGatehouseError,
  RevisionConflictError,
  toGatehouseError,
} from './errors.ts';
export { escapeHtml } from './escape-html.ts';
export { createId, createRequestId } from './ids.ts';
export { isPlainObject } from './is-plain-object.ts';
export { type AddressRange, parseAddressRange } from './parse-address-range.ts';
export { noteResponseOutcome, type ResponseOutcome, responseOutcomeOf } from './response-outcome.ts';
export { markInvisibles, showInvisibles } from './show-invisibles.ts';
export { knownFieldsAt, suggestFieldName } from './suggest-field-name.ts';
export {
  findEnvReferences,
  otherTenantEnvPatterns,
  refuseForeignEnvReferences,
  tenantEnvPatterns,
} from './tenant-env-references.ts';
export type {
  Catalog,
  DescriptionFormat,
  HttpMethod,
  ImportProblem,
  JsonSchema,
  NamedTool,
  ParameterLocation,
  ServiceCatalog,
  Tool,
  ToolAnnotations,
  ToolGraphqlRequest,
  ToolMcpRequest,
  ToolParameter,
  ToolRequest,
  ToolRequestBody,
  ToolSafety,
  ToolSoapRequest,
  ToolXmlElement,
} from './tool.ts';
export { checkedSchemaOf, withoutPatterns } from './without-patterns.ts';
