import type { HttpMethod, ParameterLocation, ToolParameter } from '../../core/index.ts';

/**
 * The internal form both OpenAPI 3.x and Swagger 2.0 operations are read into before they become tools. Schemas
 * stay raw (as in the description) so they are converted once, by `transformSchemaObject`.
 */
export interface OperationSource {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operationId: string | undefined;
  readonly summary: string | undefined;
  readonly description: string | undefined;
  readonly tags: readonly string[];
  readonly parameters: readonly SourceParameter[];
  readonly body: SourceBody | undefined;
  /** Security Requirement Objects that apply (the operation's, else the document's). */
  readonly security: unknown;
  /** Description of the first 2xx response, if any. */
  readonly successDescription: string | undefined;
  /** Raw schema of the first 2xx response's JSON body, if any (becomes the tool's `outputSchema`). */
  readonly successSchema: unknown;
  /**
   * `x-gatehouse-safety` of the operation (`safe`, `write` or `destructive`): a description may make a tool stricter
   * than its method says (a POST that deletes), never laxer, except a curated pack's `safe` (see `safetyOf`).
   */
  readonly declaredSafety: unknown;
}

export interface SourceParameter {
  readonly name: string;
  readonly in: ParameterLocation;
  readonly required: boolean;
  readonly description: string | undefined;
  readonly schema: unknown;
  readonly style: ToolParameter['style'];
  readonly explode: boolean;
  readonly allowReserved: boolean;
}

export interface SourceBody {
  readonly mediaType: string;
  readonly required: boolean;
  readonly description: string | undefined;
  readonly schema: unknown;
}

/** Path Item Object fields that are operations, in the order the specification lists them. */
export const operationMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
