import { readFileSync } from 'node:fs';
import { importDescription } from '../catalog/index.ts';
import { GatehouseError } from '../core/index.ts';
import { previewTools } from './service-descriptions.ts';

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
  return {
    title: catalog.title,
    baseUrl: catalog.baseUrl,
    tools: previewTools(catalog, service).tools,
    problems: catalog.problems,
  };
}
