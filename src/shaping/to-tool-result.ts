import { GatehouseError } from '../core/index.ts';

/** The part of an upstream answer that shaping needs. */
export interface UpstreamAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: Uint8Array;
  readonly json?: unknown;
  /** The exact text `json` was parsed from, when the caller kept it (see `UpstreamResponse.jsonText`). */
  readonly jsonText?: string;
}

export interface ToolResult {
  readonly structuredContent?: Readonly<Record<string, unknown>>;
  readonly text: string;
  /**
   * `structuredContent` as JSON text, when it could be had without serialising it: valid JSON (it was parsed),
   * equal in meaning to `JSON.stringify(structuredContent)`. Transports may write it as is.
   */
  readonly structuredJson?: string;
  /**
   * A federated MCP tool's own content blocks (text, image, audio, resource links, embedded resources), delivered
   * as they are instead of the single text block built from `text`; `text` is then what budgets measure. A result
   * over budget becomes a handle and loses them (the summary replaces the whole result).
   */
  readonly content?: readonly Readonly<Record<string, unknown>>[];
  /** A federated result's `_meta`, without the keys the gateway owns. */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** A federated tool answered with `isError: true`: its content is the tool's own error report. */
  readonly isError?: boolean;
}

/** How much of an upstream error body the model sees, so it can correct its call. */
const errorExcerptChars = 2_000;
/** How much of it the error's text carries (the whole excerpt is in `details.body`). */
const messageExcerptChars = 500;

/**
 * Turns an upstream answer into a tool result: JSON first (`structuredContent` is the object, or `{ result }`
 * for arrays and scalars), text otherwise. A non-2xx answer throws `upstream_error` with the status and an
 * excerpt of the body, naming the tool as the model knows it (`toolName`). `scrub` removes every secret the caller knows from any text that leaves here.
 */
export function toToolResult(answer: UpstreamAnswer, toolName: string, scrub: (text: string) => string): ToolResult {
  if (answer.status < 200 || answer.status >= 300) {
    const excerpt = scrub(toText(answer)).slice(0, errorExcerptChars);
    // The text is what most clients show the model: it carries the upstream's own explanation (already scrubbed),
    // folded to one line, so the model can correct its call without reading structuredContent.
    const said = excerpt.replace(/\s+/g, ' ').trim();
    const shown = said.length > messageExcerptChars ? `${said.slice(0, messageExcerptChars)}…` : said;
    throw new GatehouseError(
      'upstream_error',
      `Upstream answered HTTP ${answer.status} to ${toolName}${shown === '' ? '' : `: ${shown}`}`,
      { status: answer.status, body: excerpt },
    );
  }
  if (answer.json !== undefined) {
    const reused = reuseJsonText(answer.json, answer.jsonText, scrub);
    if (reused !== undefined) return reused;
    const raw = JSON.stringify(answer.json);
    const text = scrub(raw);
    const structured = text === raw ? answer.json : parseOrText(text);
    return {
      structuredContent:
        structured !== null && typeof structured === 'object' && !Array.isArray(structured)
          ? (structured as Record<string, unknown>)
          : { result: structured },
      text,
    };
  }
  if (answer.body.byteLength === 0)
    return { structuredContent: { status: answer.status }, text: `HTTP ${answer.status}, no content` };
  return { text: scrub(toText(answer)) };
}

/**
 * The fast form of a JSON answer: the upstream's own text as `text` and `structuredJson`, with no serialisation.
 * Taken only when that text is what the slow path would scrub and show, up to insignificant whitespace:
 * - single-line (no `\n`): pretty-printed bodies are re-serialised compactly, so the model is not charged for
 *   indentation;
 * - no `\u` or `\/` escapes: every other escape JSON allows (`\" \\ \b \f \n \r \t`) is written exactly as
 *   `JSON.stringify` writes it, so a secret inside a string appears in the text in one of the forms the scrubber
 *   looks for; a secret spelled with `\u` escapes is only visible after parsing, so such bodies take the slow path;
 * - the scrubber finds nothing (otherwise the slow path redacts and re-parses).
 */
function reuseJsonText(
  json: unknown,
  raw: string | undefined,
  scrub: (text: string) => string,
): ToolResult | undefined {
  if (raw === undefined || raw.includes('\n') || raw.includes('\\u') || raw.includes('\\/')) return undefined;
  if (scrub(raw) !== raw) return undefined;
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    return { structuredContent: json as Record<string, unknown>, text: raw, structuredJson: raw };
  }
  return { structuredContent: { result: json }, text: raw, structuredJson: `{"result":${raw}}` };
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function toText(answer: UpstreamAnswer): string {
  if (answer.json !== undefined) return JSON.stringify(answer.json);
  return new TextDecoder('utf-8', { fatal: false }).decode(answer.body);
}
