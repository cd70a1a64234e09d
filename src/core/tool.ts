/**
 * A tool is one upstream operation as a model sees it, plus the HTTP request it becomes. Catalogues produce
 * tools; policy, upstream, shaping and the MCP binding consume them. Tools are immutable and shared by every
 * tenant that uses the same description.
 */

/** JSON Schema (2020-12 dialect) as plain data. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** `safe` = GET/HEAD/OPTIONS (no side effects), `write` = POST/PUT/PATCH, `destructive` = DELETE. */
export type ToolSafety = 'safe' | 'write' | 'destructive';

export type HttpMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'TRACE';

export type ParameterLocation = 'path' | 'query' | 'header' | 'cookie';

/** How one tool argument becomes part of the HTTP request (OpenAPI 3 parameter object semantics). */
export interface ToolParameter {
  /** Name on the wire (path template variable, query key, header or cookie name). */
  readonly name: string;
  /** Property name in the tool's input schema (differs from `name` when two locations share a name). */
  readonly argument: string;
  readonly in: ParameterLocation;
  readonly required: boolean;
  /** OpenAPI `style`; defaults per location: path/header `simple`, query/cookie `form`. */
  readonly style: 'simple' | 'label' | 'matrix' | 'form' | 'spaceDelimited' | 'pipeDelimited' | 'deepObject';
  readonly explode: boolean;
  readonly allowReserved: boolean;
}

/** The request body, taken from the single argument `argument` (always `body`). */
export interface ToolRequestBody {
  readonly argument: string;
  readonly mediaType: string;
  readonly required: boolean;
}

export interface ToolRequest {
  readonly method: HttpMethod;
  /** Path template relative to the service base URL, e.g. `/repos/{owner}/{repo}`. */
  readonly pathTemplate: string;
  readonly parameters: readonly ToolParameter[];
  readonly body?: ToolRequestBody;
  /** Set for a GraphQL field: the body is `{ query, variables }` built from the arguments (see ToolGraphqlRequest). */
  readonly graphql?: ToolGraphqlRequest;
  /** Set for a SOAP operation: the body is an envelope built from the arguments (see ToolSoapRequest). */
  readonly soap?: ToolSoapRequest;
}

/**
 * A GraphQL field as a request: `POST` to the endpoint with `{ query: document, variables }`, where each variable is
 * the tool argument of the same name. The answer's `data[field]` is the tool result; `errors` make a tool error.
 */
export interface ToolGraphqlRequest {
  readonly document: string;
  readonly field: string;
  readonly variables: readonly string[];
}

/**
 * One XML element of a SOAP body, as an XSD element declaration says: the tool argument `argument` (a property of
 * the parent's object) written as `<name>` in `namespace` (absent = unqualified). An element with `children` is
 * complex (its argument is an object); `repeated` elements take an array and are written once per item.
 */
export interface ToolXmlElement {
  readonly name: string;
  readonly namespace?: string;
  readonly children?: readonly ToolXmlElement[];
  readonly repeated: boolean;
  readonly required: boolean;
}

/**
 * A document/literal SOAP operation as a request: `POST` of an envelope whose body is the `input` element with the
 * tool's arguments as its children, and the `SOAPAction` (1.1 header, 1.2 `action` media type parameter).
 */
export interface ToolSoapRequest {
  readonly version: '1.1' | '1.2';
  readonly action: string;
  readonly input: ToolXmlElement;
}

/** MCP tool annotations, computed by the gateway from the method, never copied from a description. */
export interface ToolAnnotations {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: boolean;
}

export interface Tool {
  /**
   * The operation part of the tool name (operationId, or method + path), sanitised to `[a-zA-Z0-9_-]`, unique
   * within its catalogue, not yet length-limited. The name a model sees is computed once per service by
   * `toToolName(service, key)` in the catalog module.
   */
  readonly key: string;
  /** The operation id (or method + path) this tool came from, for error messages and previews. */
  readonly operation: string;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  /**
   * What a successful result's `structuredContent` holds, compact (see `toOutputSchema` in catalog/openapi): from
   * the description's 2xx response schema. Declared to clients only where the toolset and service keep structured
   * output on and no projection reshapes the result; every result is validated against it before it is sent.
   */
  readonly outputSchema?: JsonSchema;
  /** `outputSchema` wraps a non-object answer as `{ result }` (the answer is an array or a scalar). */
  readonly outputWrapped?: boolean;
  readonly annotations: ToolAnnotations;
  readonly safety: ToolSafety;
  /**
   * Required OAuth scopes as alternatives: the call is allowed when any one inner list is fully granted
   * (OpenAPI security requirement semantics). Empty = no scope needed.
   */
  readonly scopes: readonly (readonly string[])[];
  readonly tags: readonly string[];
  readonly request: ToolRequest;
  /**
   * Arguments an overlay fixed (removed from the input schema, always sent) and defaulted (sent when the call
   * leaves them out), by argument name; `body.<property>` names a property of an object body. Applied by
   * `buildRequest`, after validation.
   */
  readonly fixedArguments?: Readonly<Record<string, unknown>>;
  readonly defaultArguments?: Readonly<Record<string, unknown>>;
  /**
   * Arguments an overlay hid (removed from the input schema): `buildRequest` drops any value the call sends for
   * them (an open object body would otherwise accept it) before defaults and fixed values are put in, so a hidden
   * argument is never sent unless defaulted, and then always with its default.
   */
  readonly hiddenArguments?: readonly string[];
  /** An overlay's JMESPath expression applied to every JSON result (in the query workers, within their budget). */
  readonly projection?: string;
}

/** One operation a description could not turn into a tool, and why. */
export interface ImportProblem {
  /** Where: `GET /pets/{id}` or an operation id, or a JSON pointer into the description. */
  readonly at: string;
  readonly reason: string;
}

/** The description formats a catalogue is imported from. */
export type DescriptionFormat = 'openapi' | 'swagger' | 'discovery' | 'graphql' | 'wsdl';

export interface Catalog {
  /** Content hash of the description; equal descriptions share one Catalog object. */
  readonly id: string;
  /** The format it was imported from (absent on catalogues built by hand in tests: OpenAPI). */
  readonly format?: DescriptionFormat;
  readonly title: string;
  /** Base URL from the description's servers (variables resolved to defaults); config may override. */
  readonly baseUrl: string | undefined;
  readonly tools: readonly Tool[];
  readonly problems: readonly ImportProblem[];
}

/** A tool under the name a model sees: `{service}_{key}`, sanitised and at most 64 characters. */
export interface NamedTool {
  readonly name: string;
  readonly service: string;
  readonly tool: Tool;
}

/**
 * A catalogue bound to a service id. Built once per (catalogue, service id) and shared by every tenant that
 * registers the same description under the same id, so a thousand tenants cost one copy.
 */
export interface ServiceCatalog {
  readonly service: string;
  readonly catalog: Catalog;
  readonly tools: readonly NamedTool[];
  readonly byName: ReadonlyMap<string, NamedTool>;
}
