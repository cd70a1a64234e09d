import { readFileSync } from 'node:fs';
import { bindCatalog, importDescription, previewCatalog } from '../catalog/index.ts';
import { GatehouseError } from '../core/index.ts';
import { countTokens } from '../shaping/index.ts';

/**
 * `gatehouse import`: the tools a description file becomes under a service id, with the token size of each
 * tool's listing, and the operations that could not be imported.
 */
export function previewDescription(path: string, service: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GatehouseError(
      'description_invalid',
      `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        file: path,
      },
    );
  }
  const catalog = importDescription({ text, source: path });
  const bound = bindCatalog(catalog, service);
  const rows = previewCatalog(catalog, service).map((row) => {
    const named = bound.byName.get(row.name)!;
    const { tool } = named;
    const listed = {
      name: named.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      annotations: tool.annotations,
    };
    return { ...row, tokens: countTokens(JSON.stringify(listed)) };
  });
  return { title: catalog.title, baseUrl: catalog.baseUrl, tools: rows, problems: catalog.problems };
}
