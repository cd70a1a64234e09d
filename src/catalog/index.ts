export { bindCatalog } from './bind-catalog.ts';
export { type DescriptionInput, type ImportOptions, importDescription } from './import-description.ts';
export { loadCatalog } from './load-catalog.ts';
export { type PreviewRow, previewCatalog } from './preview-catalog.ts';
export { toolNameMax, toToolName } from './tool-name.ts';
