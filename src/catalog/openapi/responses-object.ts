import { asRecord, type ImportContext, resolveObject } from './import-context.ts';

/** Descriptions that say nothing about what an operation returns. */
const generic =
  /^(?:ok|success(?:ful)?(?: (?:response|operation|request))?|response|default response|no content|created|accepted|empty response|\d{3})\.?$/i;

/**
 * Responses Object -> the description of its first 2xx response (`200` before `201` ..., then `2XX`), or
 * undefined when there is none or it is generic ("OK", "Response").
 */
export function transformResponsesObject(ctx: ImportContext, value: unknown): string | undefined {
  const responses = asRecord(value);
  if (responses === undefined) return undefined;
  const code = Object.keys(responses)
    .filter((status) => /^2(?:\d\d|XX)$/i.test(status))
    .sort()[0];
  if (code === undefined) return undefined;
  let description: unknown;
  try {
    description = resolveObject(ctx, responses[code])['description'];
  } catch {
    return undefined;
  }
  if (typeof description !== 'string') return undefined;
  const text = description.trim();
  return text === '' || generic.test(text) ? undefined : text;
}
