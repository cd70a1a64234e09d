/**
 * Whether an answer carries the upstream item: the body contains `expectText` and is not an MCP tool error
 * (`"isError":true`). Cheap enough to run on every answer, so a target that answers fast with errors (a rate
 * limit, a failed upstream call) never counts as fast.
 */
export function isExpectedBody(body: string, expectText: string): boolean {
  return body.includes(expectText) && !body.includes('"isError":true');
}
