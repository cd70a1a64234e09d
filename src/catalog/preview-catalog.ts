import type { Catalog, HttpMethod, Tool, ToolSafety } from '../core/index.ts';
import { bindCatalog } from './bind-catalog.ts';

/** One line of `gatehouse import`: a tool as the model would see it, plus where it goes. */
export interface PreviewRow {
  readonly name: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly safety: ToolSafety;
  /** Required scopes as alternatives (see Tool.scopes); the CLI formats them. */
  readonly scopes: Tool['scopes'];
  readonly description: string;
}

/** The rows `gatehouse import` prints for a catalogue bound to `service`, in catalogue order. */
export function previewCatalog(catalog: Catalog, service: string): PreviewRow[] {
  return bindCatalog(catalog, service).tools.map(({ name, tool }) => ({
    name,
    method: tool.request.method,
    // GraphQL and SOAP tools are sent to the endpoint itself: their operation says what they call.
    path: tool.request.pathTemplate === '' ? tool.operation : tool.request.pathTemplate,
    safety: tool.safety,
    scopes: tool.scopes,
    description: tool.description,
  }));
}
