import { GatehouseError } from '../core/index.ts';

/** The part of an upstream answer that shaping needs. */
export interface UpstreamAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: Uint8Array;
  readonly json?: unknown;
}

export interface ToolResult {
  readonly structuredContent?: Readonly<Record<string, unknown>>;
  readonly text: string;
}

/** How much of an upstream error body the model sees, so it can correct its call. */
const errorExcerptChars = 2_000;

/**
 * Turns an upstream answer into a tool result: JSON first (`structuredContent` is the object, or `{ result }`
 * for arrays and scalars), text otherwise. A non-2xx answer throws `upstream_error` with the status and an
 * excerpt of the body. `scrub` removes every secret the caller knows from any text that leaves here.
 */
export function toToolResult(answer: UpstreamAnswer, operation: string, scrub: (text: string) => string): ToolResult {
  if (answer.status < 200 || answer.status >= 300) {
    const excerpt = scrub(toText(answer)).slice(0, errorExcerptChars);
    throw new GatehouseError('upstream_error', `Upstream answered HTTP ${answer.status} to ${operation}`, {
      status: answer.status,
      body: excerpt,
    });
  }
  if (answer.json !== undefined) {
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
