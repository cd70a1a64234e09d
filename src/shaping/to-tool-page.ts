import { type ToolResult, toToolResult, type UpstreamAnswer } from './to-tool-result.ts';

/** An upstream answer with its response headers (lower-case names). */
export interface UpstreamPageAnswer extends UpstreamAnswer {
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * One upstream page as every later step of a call reads it, scrubbed once (RS-01): the tool result, the JSON that
 * pagination detection and auto-pagination merge read, and the headers that next-page hints and the cache read.
 * Of the headers only `link` is ever shown to the model (as a hint), so only `link` is scrubbed; the others are read
 * for cache policy (`cache-control`, `vary`) and never leave the gateway.
 */
export interface ToolPage {
  readonly headers: Readonly<Record<string, string>>;
  /** The answer's JSON after scrubbing; undefined for text answers. */
  readonly json: unknown;
  readonly result: ToolResult;
}

/**
 * Turns an upstream answer into a tool page: `toToolResult` for the body (which throws `upstream_error` for a non-2xx
 * answer), the JSON value re-read from the scrubbed result, and the `link` header through the same scrubber. Builds
 * nothing new when there is nothing to scrub: an answer whose body the scrubber left alone passes its own JSON value
 * on, and an answer without a `Link` header its own headers object.
 */
export function toToolPage(answer: UpstreamPageAnswer, toolName: string, scrub: (text: string) => string): ToolPage {
  const result = toToolResult(answer, toolName, scrub);
  const link = answer.headers['link'];
  const headers = link === undefined ? answer.headers : { ...answer.headers, link: scrub(link) };
  return { headers, json: scrubbedJsonOf(answer, result), result };
}

function scrubbedJsonOf(answer: UpstreamAnswer, result: ToolResult): unknown {
  const structured = result.structuredContent;
  if (answer.json === undefined || structured === undefined) return undefined;
  // The upstream's own text was reused: the scrubber found nothing in it.
  if (result.structuredJson !== undefined) return answer.json;
  // `toToolResult` wraps arrays and scalars as `{ result }`; an object is the structured content itself.
  return result.text.charCodeAt(0) === 123 /* { */ ? structured : structured['result'];
}
