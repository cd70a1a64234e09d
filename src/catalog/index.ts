export { applyOverlays, type ToolOverlays } from './apply-overlays.ts';
export { bindCatalog } from './bind-catalog.ts';
export { dropFixedHeaderArguments } from './drop-fixed-header-arguments.ts';
export { type DescriptionInput, type ImportOptions, importDescription } from './import-description.ts';
export { loadCatalog, loadCatalogText } from './load-catalog.ts';
export {
  type McpFeatures,
  type McpPrompt,
  type McpPromptArgument,
  type McpResource,
  type McpResourceTemplate,
  matchesUriTemplate,
  noMcpFeatures,
  transformMcpFeatures,
} from './mcp/mcp-features.ts';
export { type McpListedTool, mcpToolsMax, transformMcpTools } from './mcp/mcp-tools.ts';
export { type PreviewRow, previewCatalog } from './preview-catalog.ts';
export { checkRedirectUriRule, type RedirectUriVerdict } from './providers/check-redirect-uri-rule.ts';
export { createProviderExpander, expandProviderService } from './providers/expand-provider-service.ts';
export {
  builtInCatalogRoot,
  loadProviders,
  type ProviderCatalogue,
  packPath,
  parseProviderFile,
} from './providers/load-providers.ts';
export {
  type Provider,
  type ProviderAuth,
  type ProviderCategory,
  type ProviderOAuth,
  type ProviderQuirk,
  type ProviderScope,
  type ProviderVariable,
  providerCategories,
  providerQuirks,
  providerSchema,
  quirkVariables,
  templateVariables,
} from './providers/provider-schema.ts';
export { toolNameMax, toToolName, toUnprefixedToolName } from './tool-name.ts';
