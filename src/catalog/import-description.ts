import { createHash } from 'node:crypto';
import { type Catalog, type DescriptionFormat, GatehouseError } from '../core/index.ts';
import { transformRestDescription } from './discovery/rest-description.ts';
import { transformGraphqlSchema } from './graphql/graphql-schema.ts';
import { asRecord, type Dialect } from './openapi/import-context.ts';
import { transformOpenApiObject } from './openapi/openapi-object.ts';
import { parseDescriptionText } from './parse-description-text.ts';
import { transformWsdlDefinitions } from './wsdl/wsdl-definitions.ts';

/** How a description is imported, beside its text. */
export interface ImportOptions {
  /** What the caller expects; a description of another kind is refused. Detected when absent. */
  readonly format?: DescriptionFormat;
  /** GraphQL: depth of the generated selection sets (see the service config field). Default 2. */
  readonly selectionDepth?: number;
  /**
   * OpenAPI: honour `x-gatehouse-safety: safe` on a POST/PUT/PATCH (class it a read). Set by `loadCatalog` for the
   * curated packs shipped in `catalog/packs/` only; any other description can make a tool stricter, never laxer.
   */
  readonly trustSafetyMarks?: boolean;
}

export interface DescriptionInput extends ImportOptions {
  /** The description, JSON or YAML. */
  readonly text: string;
  /** Where it came from (file path, upload name), used in error messages. */
  readonly source: string;
}

/**
 * Turns an OpenAPI 3.0 / 3.1 or Swagger 2.0 description (JSON or YAML), a Google Discovery document, a GraphQL
 * schema (SDL or introspection JSON, see `transformGraphqlSchema`) or a WSDL 1.1 file (`transformWsdlDefinitions`)
 * into a
 * frozen Catalog whose id is the SHA-256 of the text. Throws `description_invalid` when the text is not an API
 * description at all (unparseable, no `openapi: 3.x` / `swagger: "2.0"` / `discoveryVersion`, no `paths` or
 * `resources`) or not of the expected `format`. A partly invalid description
 * imports what it can; each skipped operation is listed in `catalog.problems`.
 */
export function importDescription(input: DescriptionInput): Catalog {
  return importDescriptionWithId(input, createHash('sha256').update(input.text).digest('hex'));
}

/** `importDescription` with the content hash already computed (by `loadCatalog`, over the file's bytes). */
export function importDescriptionWithId(input: DescriptionInput, id: string): Catalog {
  const detected = input.format === 'graphql' ? 'graphql' : input.format === 'wsdl' ? 'wsdl' : textFormatOf(input);
  if (detected === 'graphql') {
    expectFormat(input, 'graphql');
    return transformGraphqlSchema(input.text, input.source, id, input.selectionDepth);
  }
  if (detected === 'wsdl') {
    expectFormat(input, 'wsdl');
    return transformWsdlDefinitions(input.text, input.source, id);
  }
  let parsed: unknown;
  try {
    parsed = parseDescriptionText(input.text);
  } catch {
    throw new GatehouseError('description_invalid', `Description ${input.source} is neither valid JSON nor YAML`, {
      source: input.source,
    });
  }
  const root = asRecord(parsed);
  if (root !== undefined && (asRecord(root['__schema']) ?? asRecord(asRecord(root['data'])?.['__schema']))) {
    expectFormat(input, 'graphql');
    return transformGraphqlSchema(input.text, input.source, id, input.selectionDepth);
  }
  const dialect = root === undefined ? undefined : dialectOf(root);
  if (root !== undefined && dialect === undefined && typeof root['discoveryVersion'] === 'string') {
    expectFormat(input, 'discovery');
    if (asRecord(root['resources']) === undefined && asRecord(root['methods']) === undefined) {
      throw new GatehouseError('description_invalid', `Description ${input.source} has no resources or methods`, {
        source: input.source,
      });
    }
    return transformRestDescription(root, id);
  }
  if (root === undefined || dialect === undefined) {
    throw new GatehouseError(
      'description_invalid',
      `Description ${input.source} is not an OpenAPI 3.x or Swagger 2.0 document`,
      { source: input.source },
    );
  }
  expectFormat(input, dialect === '2.0' ? 'swagger' : 'openapi');
  if (asRecord(root['paths']) === undefined && !(dialect === '3.1' && asRecord(root['webhooks']))) {
    throw new GatehouseError('description_invalid', `Description ${input.source} has no paths object`, {
      source: input.source,
    });
  }
  return transformOpenApiObject(root, dialect, id, input.trustSafetyMarks === true);
}

function expectFormat(input: DescriptionInput, format: DescriptionFormat): void {
  if (input.format !== undefined && input.format !== format) {
    throw new GatehouseError('description_invalid', `Description ${input.source} is ${format}, not ${input.format}`, {
      source: input.source,
      format,
    });
  }
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

type TextFormat = 'graphql' | 'wsdl';

/**
 * Description formats that are not JSON or YAML, recognised by the file name or the start of the text: GraphQL SDL
 * and WSDL (XML).
 */
function textFormatOf(input: DescriptionInput): TextFormat | undefined {
  if (/\.(graphql|graphqls|gql)$/i.test(input.source)) return 'graphql';
  if (/\.wsdl$/i.test(input.source)) return 'wsdl';
  const start = input.text.trimStart().slice(0, 2000);
  if (start.startsWith('<'))
    return /<(\w+:)?definitions[\s>]|<(\w+:)?description[\s>]/.test(start) ? 'wsdl' : undefined;
  if (
    /^(schema\s*\{|type\s+\w+\s*(implements\b[^{]*)?\{|scalar\s+\w|directive\s+@|interface\s+\w+\s*\{|""")/m.test(start)
  ) {
    return 'graphql';
  }
  return undefined;
}
