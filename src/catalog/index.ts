export { applyOverlays, type ToolOverlays } from './apply-overlays.ts';
export { bindCatalog } from './bind-catalog.ts';
export { type DescriptionInput, type ImportOptions, importDescription } from './import-description.ts';
export { loadCatalog, loadCatalogText } from './load-catalog.ts';
export { type McpListedTool, mcpToolsMax, transformMcpTools } from './mcp/mcp-tools.ts';
export { type PreviewRow, previewCatalog } from './preview-catalog.ts';
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
