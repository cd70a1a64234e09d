import { asRecord, type ImportContext, ImportIssue, resolveObject } from './import-context.ts';
import { pickMediaType } from './media-type.ts';
import type { SourceBody } from './operation-source.ts';

/**
 * Request Body Object (OpenAPI 3.x) -> SourceBody, choosing the media type with `pickMediaType`. A body with no
 * supported media type is an ImportIssue when required (the tool could not be called correctly) and is left
 * out when optional.
 */
export function transformRequestBodyObject(ctx: ImportContext, value: unknown): SourceBody | undefined {
  const body = resolveObject(ctx, value);
  const content = asRecord(body['content']) ?? {};
  const required = body['required'] === true;
  const mediaType = pickMediaType(Object.keys(content));
  if (mediaType === undefined) {
    if (!required) return undefined;
    const offered = Object.keys(content).join(', ') || 'none';
    throw new ImportIssue(`request body media type not supported (${offered})`);
  }
  const description = body['description'];
  return {
    mediaType,
    required,
    description: typeof description === 'string' ? description : undefined,
    schema: asRecord(content[mediaType])?.['schema'] ?? {},
  };
}
