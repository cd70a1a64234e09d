import type { ParameterLocation, ToolParameter } from '../../core/index.ts';
import { type ImportContext, ImportIssue, resolveObject } from './import-context.ts';
import type { SourceParameter } from './operation-source.ts';
import { parameterLocations } from './parameter-object.ts';

/** A Swagger 2.0 parameter, sorted by what it becomes. */
export type Swagger2Parameter =
  | { readonly kind: 'parameter'; readonly parameter: SourceParameter }
  | { readonly kind: 'body'; readonly raw: Record<string, unknown> }
  | { readonly kind: 'formData'; readonly raw: Record<string, unknown> };

/**
 * Parameter Object (Swagger 2.0) -> an OpenAPI 3 style parameter, or the raw `body` / `formData` parameter the
 * operation turns into a request body. The parameter object itself serves as the schema (its `type`, `format`,
 * `items`, `enum`, bounds; `type: file` becomes a binary string). `collectionFormat` maps to style/explode:
 * csv (default) -> form/simple without explode, ssv -> spaceDelimited, pipes -> pipeDelimited, multi -> form
 * with explode; `tsv` has no OpenAPI 3 equivalent and is read as csv.
 */
export function transformSwagger2ParameterObject(ctx: ImportContext, value: unknown): Swagger2Parameter {
  const raw = resolveObject(ctx, value);
  const name = raw['name'];
  const location = raw['in'];
  if (typeof name !== 'string' || name === '') throw new ImportIssue('a parameter has no name');
  if (location === 'body') return { kind: 'body', raw };
  if (location === 'formData') return { kind: 'formData', raw };
  if (!parameterLocations.includes(location as ParameterLocation)) {
    throw new ImportIssue(`parameter ${name} has an unsupported location ${String(location)}`);
  }
  const where = location as ParameterLocation;
  const isArray = raw['type'] === 'array';
  const format = isArray ? raw['collectionFormat'] : undefined;
  let style: ToolParameter['style'] = where === 'query' || where === 'cookie' ? 'form' : 'simple';
  if (format === 'ssv' && where === 'query') style = 'spaceDelimited';
  if (format === 'pipes' && where === 'query') style = 'pipeDelimited';
  const description = raw['description'];
  return {
    kind: 'parameter',
    parameter: {
      name,
      in: where,
      required: where === 'path' || raw['required'] === true,
      description: typeof description === 'string' ? description : undefined,
      schema: raw,
      style,
      explode: format === 'multi',
      allowReserved: false,
    },
  };
}
