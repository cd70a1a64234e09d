import type { ToolGraphqlRequest } from '../core/index.ts';
import type { BuiltRequest, ParsedBase } from './build-request.ts';

/**
 * The request of a GraphQL tool: `POST` to the endpoint (the service base URL, as is) with the JSON body
 * `{ query, variables }`, each variable the argument of the same name when given. Values travel as variables only,
 * never spliced into the query text, so no argument can change the operation.
 */
export function buildGraphqlRequest(
  graphql: ToolGraphqlRequest,
  base: ParsedBase,
  args: Readonly<Record<string, unknown>>,
): BuiltRequest {
  const variables: Record<string, unknown> = {};
  for (const name of graphql.variables) if (args[name] !== undefined) variables[name] = args[name];
  return {
    method: 'POST',
    url: new URL(base.url),
    headers: { accept: 'application/graphql-response+json, application/json;q=0.9' },
    body: JSON.stringify({ query: graphql.document, variables }),
    contentType: 'application/json',
  };
}
