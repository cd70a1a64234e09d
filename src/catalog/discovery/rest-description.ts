import type { Catalog, HttpMethod, ImportProblem, Tool } from '../../core/index.ts';
import { asRecord, createImportContext, ImportIssue } from '../openapi/import-context.ts';
import { transformOperationObject } from '../openapi/operation-object.ts';
import type { OperationSource, SourceParameter } from '../openapi/operation-source.ts';

const httpMethods = new Set<HttpMethod>(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** The security scheme name the scopes of every method are filed under in the converted document. */
const googleScheme = 'google';

/**
 * Google Discovery REST description (`discoveryVersion: v1`) -> Catalog. Each method of the document and of its
 * nested `resources` becomes one tool, through the same `transformOperationObject` as an OpenAPI operation:
 * - key: the method id without the API name prefix, dots as underscores (`gmail.users.messages.send` ->
 *   `users_messages_send`, so the tool is `gmail_users_messages_send` under service `gmail`);
 * - parameters with `location` path/query (`repeated` -> array, `enum`, `format`, `default`, `pattern`), `{+name}`
 *   path variables sent with reserved characters kept; the document-wide parameters (`alt`, `key`, `oauth_token`,
 *   `fields` ...) are API plumbing and left out;
 * - request body from `request.$ref`, a `schemas` entry (referenced schemas land in the tool's `$defs`);
 * - scopes: any one of the method's `scopes` is enough (each is an alternative); safety from `httpMethod`;
 * - base URL: `rootUrl` + `servicePath`; title: the first sentence of the method's description.
 * A method that cannot become a tool (unknown `$ref`, bad `httpMethod`, undescribed path variable) is skipped and
 * listed in `problems` at its location (`resources.users.resources.messages.methods.send`). Media upload and
 * download endpoints are not imported: the tool sends and receives JSON only.
 */
export function transformRestDescription(root: Record<string, unknown>, id: string): Catalog {
  const schemas = asRecord(root['schemas']) ?? {};
  const converted = {
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, toSchemaObject(schema)])),
      securitySchemes: { [googleScheme]: { type: 'oauth2' } },
    },
  };
  const ctx = createImportContext(converted, '3.0');
  const apiName = typeof root['name'] === 'string' ? root['name'] : '';
  const methods: { at: string; method: Record<string, unknown> }[] = [];
  collectMethods(root, '', methods);
  const tools: Tool[] = [];
  const problems: ImportProblem[] = [];
  const usedKeys = new Set<string>();
  for (const { at, method } of methods) {
    try {
      const source = toOperationSource(method, at, schemas);
      let key = toMethodKey(source.operationId ?? at, apiName);
      for (let n = 2; usedKeys.has(key); n++) key = `${toMethodKey(source.operationId ?? at, apiName)}_${n}`;
      usedKeys.add(key);
      tools.push(transformOperationObject(ctx, source, key));
    } catch (error) {
      if (!(error instanceof ImportIssue)) throw error;
      // Name schemas as the document does (`schemas/Message`), not by their place in the converted form.
      problems.push(Object.freeze({ at, reason: error.message.replaceAll('#/components/schemas/', 'schemas/') }));
    }
  }
  const title = root['title'] ?? root['name'];
  return Object.freeze({
    id,
    format: 'discovery',
    title: typeof title === 'string' ? title : '',
    baseUrl: baseUrlOf(root),
    tools: Object.freeze(tools),
    problems: Object.freeze(problems),
  });
}

/**
 * The operation part of a Discovery tool name: the method id without its API name prefix, every character outside
 * `[a-zA-Z0-9_-]` replaced by `_` (`gmail.users.messages.send` -> `users_messages_send`).
 */
export function toMethodKey(methodId: string, apiName: string): string {
  const local = apiName !== '' && methodId.startsWith(`${apiName}.`) ? methodId.slice(apiName.length + 1) : methodId;
  return local.replace(/[^a-zA-Z0-9_-]/g, '_');
}

function collectMethods(
  resource: Record<string, unknown>,
  at: string,
  out: { at: string; method: Record<string, unknown> }[],
): void {
  for (const [name, method] of Object.entries(asRecord(resource['methods']) ?? {})) {
    const record = asRecord(method);
    if (record !== undefined) out.push({ at: `${at}methods.${name}`, method: record });
  }
  for (const [name, child] of Object.entries(asRecord(resource['resources']) ?? {})) {
    const record = asRecord(child);
    if (record !== undefined) collectMethods(record, `${at}resources.${name}.`, out);
  }
}

function toOperationSource(
  method: Record<string, unknown>,
  at: string,
  schemas: Record<string, unknown>,
): OperationSource {
  const httpMethod = typeof method['httpMethod'] === 'string' ? method['httpMethod'].toUpperCase() : '';
  if (!httpMethods.has(httpMethod as HttpMethod)) {
    throw new ImportIssue(`httpMethod ${JSON.stringify(method['httpMethod'] ?? null)} is not an HTTP method`);
  }
  const rawPath = method['path'];
  if (typeof rawPath !== 'string' || rawPath === '') throw new ImportIssue('method has no path');
  const reserved = new Set<string>();
  const path = `/${rawPath.replace(/^\/+/, '')}`.replace(/\{\+([^}]+)\}/g, (_, name: string) => {
    reserved.add(name);
    return `{${name}}`;
  });
  const parameters: SourceParameter[] = [];
  for (const [name, raw] of Object.entries(asRecord(method['parameters']) ?? {})) {
    const parameter = asRecord(raw);
    if (parameter === undefined) throw new ImportIssue(`parameter ${name} is not an object`);
    const location = parameter['location'];
    if (location !== 'path' && location !== 'query') {
      throw new ImportIssue(`parameter ${name} has location ${JSON.stringify(location ?? null)}, not path or query`);
    }
    const repeated = parameter['repeated'] === true;
    const scalar = toSchemaObject(parameter) as Record<string, unknown>;
    parameters.push({
      name,
      in: location,
      required: location === 'path' || parameter['required'] === true,
      description: typeof parameter['description'] === 'string' ? parameter['description'] : undefined,
      schema: repeated ? { type: 'array', items: scalar } : scalar,
      style: location === 'path' ? 'simple' : 'form',
      explode: true,
      allowReserved: reserved.has(name),
    });
  }
  const request = asRecord(method['request']);
  const requestRef = request?.['$ref'];
  if (request !== undefined && typeof requestRef !== 'string') throw new ImportIssue('request has no $ref');
  if (typeof requestRef === 'string' && !Object.hasOwn(schemas, requestRef)) {
    throw new ImportIssue(`request $ref ${requestRef} is not in schemas`);
  }
  const description = typeof method['description'] === 'string' ? method['description'].trim() : '';
  const summary = firstSentence(description);
  const rest = description.slice(summary.length).trim();
  const scopes = Array.isArray(method['scopes'])
    ? method['scopes'].filter((scope): scope is string => typeof scope === 'string')
    : [];
  const response = asRecord(method['response'])?.['$ref'];
  return {
    method: httpMethod as HttpMethod,
    path,
    operationId: typeof method['id'] === 'string' ? method['id'] : at,
    summary: summary === '' ? undefined : summary,
    description: rest === '' ? undefined : rest,
    tags: [],
    parameters,
    body:
      typeof requestRef === 'string'
        ? {
            mediaType: 'application/json',
            required: true,
            description: undefined,
            schema: { $ref: schemaRef(requestRef) },
          }
        : undefined,
    security: scopes.map((scope) => ({ [googleScheme]: [scope] })),
    successDescription: typeof response === 'string' ? `a ${response} resource` : undefined,
    successSchema: typeof response === 'string' ? { $ref: schemaRef(response) } : undefined,
    declaredSafety: undefined,
  };
}

/**
 * A Discovery JSON Schema (draft-03 flavoured) -> an OpenAPI 3.0 Schema Object: `$ref` names become pointers into
 * the converted `schemas`, and the Discovery-only keywords (`id`, `annotations`, `location`, `repeated`, a boolean
 * `required`) are dropped. Numeric bounds written as strings become numbers.
 */
function toSchemaObject(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toSchemaObject);
  const record = asRecord(schema);
  if (record === undefined) return schema;
  const out: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(record)) {
    if (keyword === 'id' || keyword === 'annotations' || keyword === 'location' || keyword === 'repeated') continue;
    if (keyword === 'required' && !Array.isArray(value)) continue;
    if (keyword === 'enumDescriptions') continue;
    if (keyword === '$ref' && typeof value === 'string') out['$ref'] = schemaRef(value);
    else if ((keyword === 'minimum' || keyword === 'maximum') && typeof value === 'string') {
      const number = Number(value);
      if (Number.isFinite(number)) out[keyword] = number;
    } else if (keyword === 'properties') {
      out[keyword] = Object.fromEntries(
        Object.entries(asRecord(value) ?? {}).map(([name, sub]) => [name, toSchemaObject(sub)]),
      );
    } else if (keyword === 'items' || keyword === 'additionalProperties') out[keyword] = toSchemaObject(value);
    else if (keyword === 'default' && typeof value === 'string' && record['type'] !== 'string') {
      out[keyword] = defaultOf(value, record['type']);
    } else out[keyword] = value;
  }
  const descriptions = record['enumDescriptions'];
  if (Array.isArray(record['enum']) && Array.isArray(descriptions) && typeof out['description'] === 'string') {
    const pairs = record['enum'].map((value, i) => `${String(value)}: ${String(descriptions[i] ?? '')}`);
    out['description'] = `${out['description']} (${pairs.join('; ')})`;
  }
  return out;
}

function defaultOf(value: string, type: unknown): unknown {
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : undefined;
  if (type === 'integer' || type === 'number') {
    const number = Number(value);
    return Number.isFinite(number) ? number : undefined;
  }
  return value;
}

function schemaRef(name: string): string {
  return `#/components/schemas/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

function baseUrlOf(root: Record<string, unknown>): string | undefined {
  const rootUrl = root['rootUrl'];
  const servicePath = root['servicePath'];
  if (typeof rootUrl === 'string' && rootUrl !== '') {
    return `${rootUrl.replace(/\/+$/, '')}/${typeof servicePath === 'string' ? servicePath.replace(/^\/+/, '') : ''}`;
  }
  const baseUrl = root['baseUrl'];
  return typeof baseUrl === 'string' && /^https?:\/\//.test(baseUrl) ? baseUrl : undefined;
}

/** The first sentence of a description (up to the first `.` followed by a capital letter or the end). */
function firstSentence(text: string): string {
  const match = /^(.*?\.)(\s+[A-Z]|$)/s.exec(text);
  return match?.[1] ?? text;
}
