import { GatehouseError, type Tool } from '../core/index.ts';
import type { UpstreamResponse } from './create-upstream-client.ts';
import { readSoapAnswer } from './read-soap-answer.ts';

/** How much of the upstream's error list the error carries (scrubbed). */
const errorExcerptChars = 2_000;

/**
 * Turns the answer of a GraphQL or SOAP tool into the answer shaping reads (the JSON of the result), and its
 * protocol-level errors into `upstream_error`; an OpenAPI tool's answer passes unchanged.
 * - GraphQL: `errors` (even with HTTP 200) -> `upstream_error` with the messages (`details.errors`); otherwise the
 *   result is `data[field]`.
 * - SOAP: see `readSoapAnswer` (a Fault -> `upstream_error`, the body's element -> JSON).
 * A non-2xx answer that is not a protocol error is left to shaping, which reports its status and body.
 * `scrub` removes every secret of the call from any text that leaves here.
 */
export function readProtocolAnswer(
  tool: Tool,
  answer: UpstreamResponse,
  toolName: string,
  scrub: (text: string) => string,
): UpstreamResponse {
  const { graphql, soap } = tool.request;
  if (soap !== undefined) return readSoapAnswer(answer, toolName, scrub);
  if (graphql === undefined) return answer;
  const body = answer.json as { data?: unknown; errors?: unknown } | undefined;
  if (Array.isArray(body?.errors) && body.errors.length > 0) {
    const messages = body.errors.map((error) =>
      typeof (error as { message?: unknown })?.message === 'string' ? (error as { message: string }).message : '',
    );
    const said = scrub(messages.filter((m) => m !== '').join('; '))
      .replace(/\s+/g, ' ')
      .slice(0, 500);
    throw new GatehouseError(
      'upstream_error',
      `Upstream answered GraphQL errors to ${toolName}${said === '' ? '' : `: ${said}`}`,
      { status: answer.status, body: scrub(JSON.stringify(body.errors)).slice(0, errorExcerptChars) },
    );
  }
  if (answer.status < 200 || answer.status >= 300) return answer;
  const data = body?.data as Record<string, unknown> | null | undefined;
  if (data === undefined || data === null || typeof data !== 'object') {
    throw new GatehouseError('upstream_error', `Upstream answer to ${toolName} is not a GraphQL response`, {
      status: answer.status,
    });
  }
  return { ...answer, json: data[graphql.field] ?? null, jsonText: undefined };
}
