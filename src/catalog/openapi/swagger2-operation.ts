import type { HttpMethod } from '../../core/index.ts';
import { type ImportContext, ImportIssue } from './import-context.ts';
import { pickMediaType } from './media-type.ts';
import type { OperationSource, SourceBody, SourceParameter } from './operation-source.ts';
import { stringOf } from './paths-object.ts';
import { successSchemaOf, transformResponsesObject } from './responses-object.ts';
import { transformSwagger2ParameterObject } from './swagger2-parameter-object.ts';

/**
 * Operation Object (Swagger 2.0) -> the same internal form as OpenAPI 3. A `body` parameter becomes a JSON
 * request body (the media type from `consumes`, JSON preferred); `formData` parameters become one object body,
 * `multipart/form-data` when a parameter is a file or only multipart is consumed, else form-urlencoded.
 */
export function readSwagger2Operation(
  ctx: ImportContext,
  method: HttpMethod,
  path: string,
  operation: Record<string, unknown>,
  pathItem: Record<string, unknown>,
): OperationSource {
  const parameters = new Map<string, SourceParameter>();
  const form = new Map<string, Record<string, unknown>>();
  let bodyParameter: Record<string, unknown> | undefined;
  for (const list of [pathItem['parameters'], operation['parameters']]) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new ImportIssue('parameters is not a list');
    for (const value of list) {
      const read = transformSwagger2ParameterObject(ctx, value);
      if (read.kind === 'parameter') parameters.set(`${read.parameter.in}:${read.parameter.name}`, read.parameter);
      else if (read.kind === 'body') bodyParameter = read.raw;
      else form.set(read.raw['name'] as string, read.raw);
    }
  }
  const consumes = (Array.isArray(operation['consumes']) ? operation['consumes'] : ctx.root['consumes']) as unknown;
  const mediaTypes = Array.isArray(consumes) ? consumes.filter((type) => typeof type === 'string') : [];
  let body: SourceBody | undefined;
  if (bodyParameter !== undefined) {
    const mediaType = mediaTypes.length === 0 ? 'application/json' : pickMediaType(mediaTypes);
    if (mediaType === undefined) {
      if (bodyParameter['required'] === true) {
        throw new ImportIssue(`request body media type not supported (${mediaTypes.join(', ')})`);
      }
    } else {
      body = {
        mediaType,
        required: bodyParameter['required'] === true,
        description: stringOf(bodyParameter['description']),
        schema: bodyParameter['schema'] ?? {},
      };
    }
  } else if (form.size > 0) {
    body = formBodyOf(form, mediaTypes);
  }
  return {
    method,
    path,
    operationId: stringOf(operation['operationId']),
    summary: stringOf(operation['summary']),
    description: stringOf(operation['description']),
    tags: Array.isArray(operation['tags']) ? operation['tags'].filter((tag) => typeof tag === 'string') : [],
    parameters: [...parameters.values()],
    body,
    security: operation['security'] ?? ctx.root['security'],
    successDescription: transformResponsesObject(ctx, operation['responses']),
    successSchema: successSchemaOf(ctx, operation['responses'], operation['produces'] ?? ctx.root['produces']),
    declaredSafety: operation['x-gatehouse-safety'],
  };
}

function formBodyOf(form: Map<string, Record<string, unknown>>, mediaTypes: readonly string[]): SourceBody {
  const hasFile = [...form.values()].some((raw) => raw['type'] === 'file');
  const multipart = mediaTypes.some((type) => type.toLowerCase().startsWith('multipart/form-data'));
  const urlencoded = mediaTypes.some((type) => type.toLowerCase().startsWith('application/x-www-form-urlencoded'));
  const mediaType = hasFile || (multipart && !urlencoded) ? 'multipart/form-data' : 'application/x-www-form-urlencoded';
  const required = [...form.values()].filter((raw) => raw['required'] === true).map((raw) => raw['name'] as string);
  return {
    mediaType,
    required: required.length > 0,
    description: undefined,
    schema: { type: 'object', properties: Object.fromEntries(form), ...(required.length > 0 ? { required } : {}) },
  };
}

/** Swagger 2.0 `schemes`, `host` and `basePath` -> base URL; undefined without a host. */
export function baseUrlOfSwagger2(root: Record<string, unknown>): string | undefined {
  const host = root['host'];
  if (typeof host !== 'string' || host === '') return undefined;
  const schemes = Array.isArray(root['schemes']) ? root['schemes'] : [];
  const scheme = schemes.includes('https') ? 'https' : typeof schemes[0] === 'string' ? schemes[0] : 'https';
  const basePath = typeof root['basePath'] === 'string' ? root['basePath'] : '';
  return `${scheme}://${host}${basePath}`.replace(/\/+$/, '');
}
