import type { ParameterLocation, ToolParameter } from '../../core/index.ts';
import { asRecord, type ImportContext, ImportIssue, resolveObject } from './import-context.ts';
import type { SourceParameter } from './operation-source.ts';

export const parameterLocations: readonly ParameterLocation[] = ['path', 'query', 'header', 'cookie'];
const styles = new Set<string>(['simple', 'label', 'matrix', 'form', 'spaceDelimited', 'pipeDelimited', 'deepObject']);

/**
 * Parameter Object (OpenAPI 3.x) -> SourceParameter. Applies the specification's defaults: `style` is `simple`
 * for path and header, `form` for query and cookie; `explode` is true exactly when the style is `form`; path
 * parameters are always required; `allowReserved` applies to query parameters only. A parameter described by
 * `content` instead of `schema` takes the schema of its (single) media type.
 */
export function transformParameterObject(ctx: ImportContext, value: unknown): SourceParameter {
  const parameter = resolveObject(ctx, value);
  const name = parameter['name'];
  const location = parameter['in'];
  if (typeof name !== 'string' || name === '') throw new ImportIssue('a parameter has no name');
  if (!parameterLocations.includes(location as ParameterLocation)) {
    throw new ImportIssue(`parameter ${name} has an unsupported location ${String(location)}`);
  }
  const where = location as ParameterLocation;
  const style = (
    typeof parameter['style'] === 'string' && styles.has(parameter['style'])
      ? parameter['style']
      : defaultStyleOf(where)
  ) as ToolParameter['style'];
  const content = asRecord(parameter['content']);
  const schema = parameter['schema'] ?? asRecord(Object.values(content ?? {})[0])?.['schema'] ?? {};
  const description = parameter['description'];
  return {
    name,
    in: where,
    required: where === 'path' || parameter['required'] === true,
    description: typeof description === 'string' ? description : undefined,
    schema,
    style,
    explode: typeof parameter['explode'] === 'boolean' ? parameter['explode'] : style === 'form',
    allowReserved: where === 'query' && parameter['allowReserved'] === true,
  };
}

export function defaultStyleOf(location: ParameterLocation): ToolParameter['style'] {
  return location === 'query' || location === 'cookie' ? 'form' : 'simple';
}
