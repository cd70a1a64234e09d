import type { Catalog, ImportProblem, Tool } from '../../core/index.ts';
import { asRecord, createImportContext, type Dialect, ImportIssue } from './import-context.ts';
import { assignOperationKeys } from './operation-key.ts';
import { transformOperationObject } from './operation-object.ts';
import { readOpenApiOperation, transformPathsObject } from './paths-object.ts';
import { transformServerObject } from './server-object.ts';
import { baseUrlOfSwagger2, readSwagger2Operation } from './swagger2-operation.ts';

/**
 * OpenAPI Object (3.0 / 3.1) or Swagger Object (2.0) -> Catalog. Every operation is converted on its own: one
 * that cannot become a tool is skipped and listed in `problems` with where and why, the others still import.
 * The document is read, never copied or mutated; component schemas are converted only when a tool reaches them.
 */
export function transformOpenApiObject(
  root: Record<string, unknown>,
  dialect: Dialect,
  id: string,
  trustSafetyMarks = false,
): Catalog {
  const ctx = createImportContext(root, dialect, trustSafetyMarks);
  const entries = transformPathsObject(ctx, dialect === '2.0' ? readSwagger2Operation : readOpenApiOperation);
  const keys = assignOperationKeys(entries);
  const tools: Tool[] = [];
  const problems: ImportProblem[] = [];
  entries.forEach((entry, index) => {
    try {
      tools.push(transformOperationObject(ctx, entry.read(), keys[index] as string));
    } catch (error) {
      if (!(error instanceof ImportIssue)) throw error;
      problems.push(Object.freeze({ at: `${entry.method} ${entry.path}`, reason: error.message }));
    }
  });
  const servers = root['servers'];
  const title = asRecord(root['info'])?.['title'];
  return Object.freeze({
    id,
    format: dialect === '2.0' ? 'swagger' : 'openapi',
    title: typeof title === 'string' ? title : '',
    baseUrl:
      dialect === '2.0'
        ? baseUrlOfSwagger2(root)
        : transformServerObject(Array.isArray(servers) ? servers[0] : undefined),
    tools: Object.freeze(tools),
    problems: Object.freeze(problems),
  });
}
