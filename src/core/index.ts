export { type Clock, systemClock } from './clock.ts';
export {
  type ClientKeyConfig,
  type Config,
  type ConfigTree,
  configSchema,
  type Environment,
  formatPath,
  loadConfigFile,
  type OAuthServerConfig,
  type ParseConfigOptions,
  parseConfig,
  readConfigTree,
  requireResolvedEnv,
  type ServiceAuthConfig,
  type ServiceConfig,
  type TenantConfig,
  type ToolsetConfig,
  type UnresolvedEnvPolicy,
  type UnresolvedVariable,
  type UsersConfig,
} from './config.ts';
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
export { createId, createRequestId } from './ids.ts';
export { noteResponseOutcome, type ResponseOutcome, responseOutcomeOf } from './response-outcome.ts';
export type {
  Catalog,
  HttpMethod,
  ImportProblem,
  JsonSchema,
  NamedTool,
  ParameterLocation,
  ServiceCatalog,
  Tool,
  ToolAnnotations,
  ToolParameter,
  ToolRequest,
  ToolRequestBody,
  ToolSafety,
} from './tool.ts';
