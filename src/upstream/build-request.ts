import { GatehouseError, type HttpMethod, type Tool, type ToolParameter } from '../core/index.ts';
import { buildGraphqlRequest } from './build-graphql-request.ts';
import { buildSoapRequest } from './build-soap-request.ts';
import { encodeBody } from './encode-body.ts';
import { serializeParameter } from './serialize-parameter.ts';

/** An HTTP request ready to send, before (or after) `applyCredential`. Header names are lower-case. */
export interface BuiltRequest {
  readonly method: HttpMethod;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
  /** `Content-Type` of `body` (the client sends it as the `content-type` header). */
  readonly contentType?: string;
}

/**
 * Header parameters with these names are dropped, not refused: OpenAPI 3 says `Accept`, `Content-Type` and
 * `Authorization` header parameters SHALL be ignored, and the others belong to the gateway (credential, framing,
 * connection management). Dropping keeps tools whose description declares e.g. a required `Authorization`
 * parameter usable; the credential is set afterwards by `applyCredential`, which also replaces any header or query
 * parameter with the credential's own name, so the credential always wins (MC-02).
 */
export const reservedHeaderNames: ReadonlySet<string> = new Set([
  'accept',
  'authorization',
  'connection',
  'content-length',
  'content-type',
  'cookie',
  'expect',
  'host',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const headerToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Builds the HTTP request for one call of `tool` with validated `args` (pure; no I/O).
 *
 * - The path template is appended to the base URL's path (`https://api.x.com/v1` + `/pets` = `/v1/pets`); a query
 *   string in the base URL is kept and the parameters are appended to it.
 * - Parameters are serialised per their OpenAPI style (see `serializeParameter`). `null`/`undefined` optional
 *   parameters are omitted; a missing required one, a missing path value, an empty path value or one that would
 *   form a `.`/`..` segment is refused with `invalid_arguments` (`details.argument` names it).
 * - Cookie parameters are joined into one `cookie` header; header values with control characters are refused.
 * - The body comes from `tool.request.body.argument` and is encoded by `encodeBody`.
 * - `accept: application/json, *\/*;q=0.8` is always sent.
 * - A GraphQL or SOAP tool is sent to the base URL itself (the endpoint), its body built by
 *   `buildGraphqlRequest` / `buildSoapRequest`.
 *
 * Throws `config_invalid` for a base URL that is not http(s) or carries user info.
 */
export function buildRequest(tool: Tool, baseUrl: string, given: Readonly<Record<string, unknown>>): BuiltRequest {
  const base = baseOf(baseUrl);
  const args =
    tool.fixedArguments === undefined && tool.defaultArguments === undefined && tool.hiddenArguments === undefined
      ? given
      : withOverlayArguments(tool, given);
  if (tool.request.graphql !== undefined) return buildGraphqlRequest(tool.request.graphql, base, args);
  if (tool.request.soap !== undefined) return buildSoapRequest(tool.request.soap, base, args);
  const { parameters, pathTemplate, body: bodySpec, method } = tool.request;
  const byName = new Map<string, ToolParameter>();
  for (const parameter of parameters) if (parameter.in === 'path') byName.set(parameter.name, parameter);

  const path = buildPath(pathTemplate, byName, args);
  const query: string[] = [];
  const cookies: string[] = [];
  const headers: Record<string, string> = { accept: 'application/json, */*;q=0.8' };
  for (const parameter of parameters) {
    if (parameter.in === 'path') continue;
    const headerName = parameter.name.toLowerCase();
    if (parameter.in === 'header') {
      if (!headerToken.test(parameter.name)) {
        throw new GatehouseError('description_invalid', `Header parameter name of '${tool.operation}' is invalid`, {
          argument: parameter.argument,
        });
      }
      if (reservedHeaderNames.has(headerName)) continue;
    }
    const value = args[parameter.argument];
    if (value === null || value === undefined) {
      if (parameter.required) throw missingArgument(parameter.argument);
      continue;
    }
    const serialized = serializeParameter(parameter, value, (name) =>
      isOtherQueryName(parameters, parameter, base.search, name),
    );
    if (parameter.in === 'query') query.push(...serialized);
    else if (parameter.in === 'cookie') cookies.push(...serialized);
    else if (serialized[0] !== undefined) headers[headerName] = serialized[0];
  }
  if (cookies.length > 0) headers['cookie'] = cookies.join('; ');
  const search =
    query.length === 0 ? base.search : base.search ? `${base.search}&${query.join('&')}` : `?${query.join('&')}`;
  let url: URL;
  if (/[?#\\]/.test(path)) {
    // Only a path template's literal text can hold these (values are percent-encoded): the pathname setter keeps
    // them in the path, as before.
    url = new URL(base.url);
    url.pathname = `${base.path}${path}`;
    url.search = search;
  } else {
    // One parse of the whole URL instead of a parse and two setters; the same URL for such a path.
    url = new URL(`${base.origin}${base.path}${path}${search}`);
  }

  // Every request object has the same five fields (absent ones undefined): one shape on the request path.
  if (bodySpec === undefined) return { method, url, headers, body: undefined, contentType: undefined };
  const value = args[bodySpec.argument];
  if (value === undefined || value === null) {
    if (bodySpec.required) throw missingArgument(bodySpec.argument);
    return { method, url, headers, body: undefined, contentType: undefined };
  }
  const encoded = encodeBody(bodySpec.mediaType, value, bodySpec.argument);
  return { method, url, headers, body: encoded.body, contentType: encoded.contentType };
}

/**
 * The arguments without the values the call sent for hidden arguments (never the model's to choose), with a tool
 * overlay's defaults (where the call left them out, or the argument is hidden) and fixed values (always) put in;
 * `body.<property>` names a property of an object body, which is copied, never changed in place.
 */
function withOverlayArguments(tool: Tool, given: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const args: Record<string, unknown> = { ...given };
  for (const name of tool.hiddenArguments ?? []) {
    const dot = name.indexOf('.');
    if (dot < 0) {
      delete args[name];
      continue;
    }
    const head = name.slice(0, dot);
    const current = args[head];
    if (current === null || typeof current !== 'object' || Array.isArray(current)) continue;
    const { [name.slice(dot + 1)]: _dropped, ...rest } = current as Record<string, unknown>;
    args[head] = rest;
  }
  const put = (name: string, value: unknown, always: boolean) => {
    const dot = name.indexOf('.');
    if (dot < 0) {
      if (always || args[name] === undefined) args[name] = value;
      return;
    }
    const head = name.slice(0, dot);
    const inner = name.slice(dot + 1);
    const current = args[head];
    const body: Record<string, unknown> =
      current !== null && typeof current === 'object' && !Array.isArray(current)
        ? { ...(current as Record<string, unknown>) }
        : {};
    if (always || body[inner] === undefined) body[inner] = value;
    args[head] = body;
  };
  for (const [name, value] of Object.entries(tool.defaultArguments ?? {})) put(name, value, false);
  for (const [name, value] of Object.entries(tool.fixedArguments ?? {})) put(name, value, true);
  return args;
}

/** A validated base URL, split for `buildRequest`: path without trailing slashes, search with its `?` (or ''). */
export interface ParsedBase {
  readonly url: string;
  readonly origin: string;
  readonly path: string;
  readonly search: string;
}

/** Parsed base URLs by their text: a service has one, so this is as large as the configuration. */
const parsedBases = new Map<string, ParsedBase>();

function baseOf(baseUrl: string): ParsedBase {
  let base = parsedBases.get(baseUrl);
  if (base === undefined) {
    const url = parseBaseUrl(baseUrl);
    base = { url: url.href, origin: url.origin, path: url.pathname.replace(/\/+$/, ''), search: url.search };
    if (parsedBases.size >= 1_000) parsedBases.clear();
    parsedBases.set(baseUrl, base);
  }
  return base;
}

function parseBaseUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new GatehouseError('config_invalid', 'Service base URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new GatehouseError('config_invalid', 'Service base URL must use http or https', { protocol: url.protocol });
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials belong in the vault, not in a URL that ends up in logs and error messages.
    throw new GatehouseError('config_invalid', 'Service base URL must not contain user info', { origin: url.origin });
  }
  url.hash = '';
  return url;
}

function missingArgument(argument: string): GatehouseError {
  return new GatehouseError('invalid_arguments', `Required argument '${argument}' is missing`, { argument });
}

const variable = /\{([^{}]+)\}/g;

function buildPath(
  template: string,
  byName: ReadonlyMap<string, ToolParameter>,
  args: Readonly<Record<string, unknown>>,
) {
  const relative = template.startsWith('/') ? template : `/${template}`;
  return relative
    .split('/')
    .map((segment) => {
      let argument: string | undefined;
      const expanded = segment.replace(variable, (_, name: string) => {
        const parameter = byName.get(name);
        if (parameter === undefined) {
          throw new GatehouseError('description_invalid', `Path variable '{${name}}' has no parameter`, {
            argument: name,
          });
        }
        argument ??= parameter.argument;
        const value = args[parameter.argument];
        if (value === null || value === undefined) throw missingArgument(parameter.argument);
        const text = serializeParameter(parameter, value)[0] ?? '';
        if (text === '') {
          throw new GatehouseError('invalid_arguments', `Path argument '${parameter.argument}' must not be empty`, {
            argument: parameter.argument,
          });
        }
        return text;
      });
      // `.` and `..` would be removed or climb a level when the URL is normalised, calling another endpoint.
      if (argument !== undefined && /^(?:\.|%2e){1,2}$/i.test(expanded)) {
        throw new GatehouseError('invalid_arguments', `Path argument '${argument}' must not be '.' or '..'`, {
          argument,
        });
      }
      return expanded;
    })
    .join('/');
}

/** Whether `name` is another query parameter of the tool, or one the server URL already carries. */
function isOtherQueryName(
  parameters: readonly ToolParameter[],
  parameter: ToolParameter,
  baseSearch: string,
  name: string,
): boolean {
  if (parameters.some((p) => p !== parameter && p.in === 'query' && p.name === name)) return true;
  return baseSearch !== '' && new URLSearchParams(baseSearch).has(name);
}
