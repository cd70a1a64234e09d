import { asRecord, type ImportContext, resolveObject } from './import-context.ts';

/** Descriptions that say nothing about what an operation returns. */
const generic =
  /^(?:ok|success(?:ful)?(?: (?:response|operation|request))?|response|default response|no content|created|accepted|empty response|\d{3})\.?$/i;

/**
 * Responses Object -> the description of its first 2xx response (`200` before `201` ..., then `2XX`), or
 * undefined when there is none or it is generic ("OK", "Response").
 */
export function transformResponsesObject(ctx: ImportContext, value: unknown): string | undefined {
  const response = successResponseOf(ctx, value);
  const description = response?.['description'];
  if (typeof description !== 'string') return undefined;
  const text = description.trim();
  return text === '' || generic.test(text) ? undefined : text;
}

/**
 * The raw schema of the first 2xx response's JSON body: OpenAPI 3 `content` (`application/json` or any `+json`),
 * Swagger 2 `schema` (when the operation or document `produces` JSON, or says nothing). Undefined when the
 * response has no JSON body or no schema; converted to a tool's `outputSchema` by `toOutputSchema`.
 */
export function successSchemaOf(ctx: ImportContext, value: unknown, produces?: unknown): unknown {
  const response = successResponseOf(ctx, value);
  if (response === undefined) return undefined;
  if (ctx.dialect === '2.0') {
    const types = Array.isArray(produces) ? produces.filter((type) => typeof type === 'string') : [];
    return types.length === 0 || types.some(isJsonMediaType) ? response['schema'] : undefined;
  }
  const content = asRecord(response['content']) ?? {};
  const json = Object.keys(content).find(isJsonMediaType);
  return json === undefined ? undefined : asRecord(content[json])?.['schema'];
}

function successResponseOf(ctx: ImportContext, value: unknown): Record<string, unknown> | undefined {
  const responses = asRecord(value);
  if (responses === undefined) return undefined;
  const code = Object.keys(responses)
    .filter((status) => /^2(?:\d\d|XX)$/i.test(status))
    .sort()[0];
  if (code === undefined) return undefined;
  try {
    return resolveObject(ctx, responses[code]);
  } catch {
    return undefined;
  }
}

function isJsonMediaType(type: string): boolean {
  return /^application\/(?:[\w.-]+\+)?json$/.test(type.split(';')[0]?.trim().toLowerCase() ?? '');
}
