import { createHash } from 'node:crypto';
import { type Catalog, GatehouseError } from '../core/index.ts';
import { asRecord, type Dialect } from './openapi/import-context.ts';
import { transformOpenApiObject } from './openapi/openapi-object.ts';
import { parseDescriptionText } from './parse-description-text.ts';

export interface DescriptionInput {
  /** The description, JSON or YAML. */
  readonly text: string;
  /** Where it came from (file path, upload name), used in error messages. */
  readonly source: string;
  /** What the caller expects; a description of the other kind is refused. Detected when absent. */
  readonly format?: 'openapi' | 'swagger';
}

/**
 * Turns an OpenAPI 3.0 / 3.1 or Swagger 2.0 description (JSON or YAML) into a frozen Catalog whose id is the
 * SHA-256 of the text. Throws `description_invalid` when the text is not an API description at all (unparseable,
 * no `openapi: 3.x` / `swagger: "2.0"`, no `paths`) or not of the expected `format`. A partly invalid description
 * imports what it can; each skipped operation is listed in `catalog.problems`.
 */
export function importDescription(input: DescriptionInput): Catalog {
  return importDescriptionWithId(input, createHash('sha256').update(input.text).digest('hex'));
}

/** `importDescription` with the content hash already computed (by `loadCatalog`, over the file's bytes). */
export function importDescriptionWithId(input: DescriptionInput, id: string): Catalog {
  const unsupported = unsupportedFormatOf(input);
  if (unsupported !== undefined) throw notSupportedYet(input.source, unsupported);
  let parsed: unknown;
  try {
    parsed = parseDescriptionText(input.text);
  } catch {
    throw new GatehouseError('description_invalid', `Description ${input.source} is neither valid JSON nor YAML`, {
      source: input.source,
    });
  }
  const root = asRecord(parsed);
  const dialect = root === undefined ? undefined : dialectOf(root);
  if (root !== undefined && dialect === undefined && typeof root['discoveryVersion'] === 'string') {
    throw notSupportedYet(input.source, 'Google Discovery');
  }
  if (root === undefined || dialect === undefined) {
    throw new GatehouseError(
      'description_invalid',
      `Description ${input.source} is not an OpenAPI 3.x or Swagger 2.0 document`,
      { source: input.source },
    );
  }
  const format = dialect === '2.0' ? 'swagger' : 'openapi';
  if (input.format !== undefined && input.format !== format) {
    throw new GatehouseError('description_invalid', `Description ${input.source} is ${format}, not ${input.format}`, {
      source: input.source,
      format,
    });
  }
  if (asRecord(root['paths']) === undefined && !(dialect === '3.1' && asRecord(root['webhooks']))) {
    throw new GatehouseError('description_invalid', `Description ${input.source} has no paths object`, {
      source: input.source,
    });
  }
  return transformOpenApiObject(root, dialect, id);
}

function dialectOf(root: Record<string, unknown>): Dialect | undefined {
  const openapi = root['openapi'];
  if (typeof openapi === 'string') {
    if (openapi.startsWith('3.0')) return '3.0';
    if (openapi.startsWith('3.1')) return '3.1';
    return undefined;
  }
  return root['swagger'] === '2.0' || root['swagger'] === 2 ? '2.0' : undefined;
}

type UnsupportedFormat = 'GraphQL' | 'WSDL' | 'Google Discovery';

/**
 * Description formats Gatehouse will import but does not yet, recognised before parsing so that a GraphQL schema
 * or a WSDL file gets "not supported yet" rather than "neither valid JSON nor YAML".
 */
function unsupportedFormatOf(input: DescriptionInput): UnsupportedFormat | undefined {
  if (/\.(graphql|graphqls|gql)$/i.test(input.source)) return 'GraphQL';
  if (/\.wsdl$/i.test(input.source)) return 'WSDL';
  const start = input.text.trimStart().slice(0, 2000);
  if (start.startsWith('<'))
    return /<(\w+:)?definitions[\s>]|<(\w+:)?description[\s>]/.test(start) ? 'WSDL' : undefined;
  if (
    /^(schema\s*\{|type\s+\w+\s*(implements\b[^{]*)?\{|scalar\s+\w|directive\s+@|interface\s+\w+\s*\{|""")/m.test(start)
  ) {
    return 'GraphQL';
  }
  return undefined;
}

function notSupportedYet(source: string, format: UnsupportedFormat): GatehouseError {
  return new GatehouseError(
    'description_invalid',
    `Description ${source} is a ${format} description, which Gatehouse does not import yet; OpenAPI 3.x and Swagger 2.0 (JSON or YAML) are supported`,
    { source, format },
  );
}
