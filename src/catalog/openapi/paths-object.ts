import type { HttpMethod } from '../../core/index.ts';
import { asRecord, type ImportContext, ImportIssue, resolveObject } from './import-context.ts';
import { type OperationSource, operationMethods, type SourceParameter } from './operation-source.ts';
import { transformParameterObject } from './parameter-object.ts';
import { transformRequestBodyObject } from './request-body-object.ts';
import { successSchemaOf, transformResponsesObject } from './responses-object.ts';

/** One operation found in a Paths Object; `read` builds its internal form and may throw an ImportIssue. */
export interface OperationEntry {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operationId: string | undefined;
  readonly read: () => OperationSource;
}

/** How a dialect turns one operation (with the path item's parameters) into its internal form. */
export type ReadOperation = (
  ctx: ImportContext,
  method: HttpMethod,
  path: string,
  operation: Record<string, unknown>,
  pathItem: Record<string, unknown>,
) => OperationSource;

/**
 * Paths Object -> the operations it holds, in document order (paths as written, methods in specification order).
 * A path item that cannot be resolved yields one entry per method-less failure through `read`.
 */
export function transformPathsObject(ctx: ImportContext, readOperation: ReadOperation): OperationEntry[] {
  const entries: OperationEntry[] = [];
  for (const [path, value] of Object.entries(asRecord(ctx.root['paths']) ?? {})) {
    let pathItem: Record<string, unknown>;
    try {
      pathItem = resolveObject(ctx, value);
    } catch (error) {
      if (!(error instanceof ImportIssue)) throw error;
      entries.push({
        method: 'GET',
        path,
        operationId: undefined,
        read: () => {
          throw new ImportIssue(`path item: ${error.message}`);
        },
      });
      continue;
    }
    for (const name of operationMethods) {
      const operation = asRecord(pathItem[name]);
      if (operation === undefined) continue;
      const method = name.toUpperCase() as HttpMethod;
      const operationId = typeof operation['operationId'] === 'string' ? operation['operationId'] : undefined;
      entries.push({
        method,
        path,
        operationId,
        read: () => readOperation(ctx, method, path, operation, pathItem),
      });
    }
  }
  return entries;
}

/**
 * Operation Object (OpenAPI 3.x) -> OperationSource. Operation parameters override path item parameters with the
 * same name and location; the operation's `security` replaces the document's.
 */
export function readOpenApiOperation(
  ctx: ImportContext,
  method: HttpMethod,
  path: string,
  operation: Record<string, unknown>,
  pathItem: Record<string, unknown>,
): OperationSource {
  const parameters = new Map<string, SourceParameter>();
  for (const list of [pathItem['parameters'], operation['parameters']]) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new ImportIssue('parameters is not a list');
    for (const raw of list) {
      const parameter = transformParameterObject(ctx, raw);
      parameters.set(`${parameter.in}:${parameter.name}`, parameter);
    }
  }
  const body =
    operation['requestBody'] === undefined ? undefined : transformRequestBodyObject(ctx, operation['requestBody']);
  return {
    method,
    path,
    operationId: typeof operation['operationId'] === 'string' ? operation['operationId'] : undefined,
    summary: stringOf(operation['summary']) ?? stringOf(pathItem['summary']),
    description: stringOf(operation['description']) ?? stringOf(pathItem['description']),
    tags: Array.isArray(operation['tags']) ? operation['tags'].filter((tag) => typeof tag === 'string') : [],
    parameters: [...parameters.values()],
    body,
    security: operation['security'] ?? ctx.root['security'],
    successDescription: transformResponsesObject(ctx, operation['responses']),
    successSchema: successSchemaOf(ctx, operation['responses']),
    declaredSafety: operation['x-gatehouse-safety'],
  };
}

export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}
