export { type Clock, systemClock } from './clock.ts';
export {
  type ClientKeyConfig,
  type Config,
  type ConfigTree,
  configSchema,
  type Environment,
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
  readConfigTree,
  regularExpression,
  requireResolvedEnv,
  reservedAuthorizeParams,
  type ServiceAuthConfig,
  type ServiceConfig,
  type TenantConfig,
  type ToolsetConfig,
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
  toGatehouseError,
} from './errors.ts';
export { escapeHtml } from './escape-html.ts';
export { createId, createRequestId } from './ids.ts';
export { noteResponseOutcome, type ResponseOutcome, responseOutcomeOf } from './response-outcome.ts';
export { knownFieldsAt, suggestFieldName } from './suggest-field-name.ts';
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
  ToolParameter,
  ToolRequest,
  ToolRequestBody,
  ToolSafety,
  ToolSoapRequest,
  ToolXmlElement,
} from './tool.ts';
