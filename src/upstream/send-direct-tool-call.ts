import { setTimeout as delay } from 'node:timers/promises';
import {
  type FetchLike,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
} from '@modelcontextprotocol/client';
import { GatehouseError, isGatehouseError } from '../core/index.ts';
import { mediaTypeOf } from './fetch-with-dispatcher.ts';
import { countAnswerBytes } from './read-capped.ts';
import { toResumeDelay } from './to-resume-delay.ts';

/** Where a direct call goes: an open 2025-era session of the official client, and how to reach its endpoint. */
export interface DirectSession {
  readonly service: string;
  /** The endpoint, the credential applied (a query API key is in it). */
  readonly url: URL;
  /** The credential's headers. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The session's guarded fetch (SSRF guard, origin check, scope challenges, and a size cap on each answer or stream
   * on its own), as its transport's but for direct calls.
   */
  readonly fetch: FetchLike;
  /** The session id the server gave at `initialize`, if any. */
  readonly sessionId: string | undefined;
  /** The protocol version the session negotiated. */
  readonly protocolVersion: string;
  /** The direct calls in flight of the gateway's MCP client, which its closing ends. */
  readonly calls: DirectCalls;
  /**
   * The service's answer cap: an answer's event stream and the streams resuming it, together larger than this, fail
   * with `tooLarge()` (the session's fetch caps each stream on its own).
   */
  readonly maxResponseBytes: number;
  readonly tooLarge: () => Error;
}

export interface DirectCallHooks {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** A `notifications/message` on this request's answer stream, unfiltered. */
  readonly onLog?: (message: { readonly level: unknown; readonly logger?: unknown; readonly data?: unknown }) => void;
  /** A `notifications/*​/list_changed` on this request's answer stream. */
  readonly onListChanged: () => void;
  /**
   * Why a server question (`elicitation/create`, `sampling/createMessage`) on the answer stream is refused: a direct
   * call is only made for a caller who cannot be asked.
   */
  readonly cannotAsk: (method: string) => string;
}

/**
 * The direct calls (and their notices) in flight of one MCP client: `close(reason)` aborts them with the reason its
 * own requests fail with then, so closing never waits for them (the agent's close would). A set, not a listener per
 * call on one shared signal: each listener added walked all the others, and Node warned past ten.
 */
export interface DirectCalls {
  readonly closed: boolean;
  /** Tracks a request's controller until the returned function is called; aborted at once after `close`. */
  track(controller: AbortController): () => void;
  close(reason: unknown): void;
}

export function createDirectCalls(): DirectCalls {
  const inFlight = new Set<AbortController>();
  let closing: { readonly reason: unknown } | undefined;
  return {
    get closed() {
      return closing !== undefined;
    },
    track(controller) {
      if (closing === undefined) inFlight.add(controller);
      else controller.abort(closing.reason);
      return () => inFlight.delete(controller);
    },
    close(reason) {
      closing = { reason };
      for (const controller of inFlight) controller.abort(reason);
      inFlight.clear();
    },
  };
}

/** How reading a call's answer handles the other messages: the call's hooks, and a server question refused. */
interface Handlers extends DirectCallHooks {
  readonly refuse: (questionId: string | number, method: string) => void;
}

/** A redirect answered instead: the request was not processed, and the official client (which follows same-origin redirects) sends it. */
export const redirected = Symbol('redirected');

const listChanged = /^notifications\/(tools|resources|prompts)\/list_changed$/;
let directIds = 0;

/**
 * A 2025-era `tools/call` sent by the gateway itself on an open session of the official client, for a caller the
 * server cannot ask questions of (no elicitation or sampling relay): one POST, its JSON answer (or event stream)
 * read here. The client's request funnel costs a federated call about a fifth of its CPU (decoding every message and
 * the result through its schemas, validating `structuredContent` against an output schema the gateway checks
 * itself, signal and timer plumbing); what it provides is kept:
 * - the same headers as the client's transport (session id, protocol version, the credential), through the
 *   session's own guarded fetch;
 * - progress (a progress token of the request's own id), log messages and list changes on the answer stream reach
 *   their hooks; a server question is answered with an error saying why (as the client's handler says);
 * - a cancelled or timed-out request aborts its POST and tells the server (`notifications/cancelled`);
 * - failures are the client's errors (`SdkHttpError` with the status, `ProtocolError` for a JSON-RPC error,
 *   `SdkError` RequestTimeout), so callers map them as before; a redirect is left to the client (`redirected`).
 * Request ids are strings (`gatehouse-N`), never the client's numeric ids, so both share the session.
 */
export async function sendDirectToolCall(
  session: DirectSession,
  params: Readonly<Record<string, unknown>>,
  hooks: DirectCallHooks,
): Promise<Record<string, unknown> | typeof redirected> {
  const id = `gatehouse-${++directIds}`;
  const sent =
    hooks.onProgress === undefined
      ? params
      : { ...params, _meta: { ...(params['_meta'] as Record<string, unknown> | undefined), progressToken: id } };
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout: hooks.timeoutMs }));
  }, hooks.timeoutMs);
  const onAbort = () => controller.abort(hooks.signal?.reason);
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  const untrack = session.calls.track(controller);
  if (hooks.signal?.aborted === true) onAbort();
  const reading: AnswerReading = {
    session,
    id,
    handlers: { ...hooks, refuse: refuserOf(session, hooks) },
    position: { bytes: 0 },
  };
  try {
    const response = await post(session, { jsonrpc: '2.0', id, method: 'tools/call', params: sent }, controller.signal);
    if (response.status === 307 || response.status === 308) {
      await response.text().catch(() => {});
      return redirected;
    }
    if (!response.ok) {
      const text = await response.text().catch(() => null);
      throw new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, `Error POSTing to endpoint: ${text}`, {
        status: response.status,
        statusText: response.statusText,
        text,
      });
    }
    const mediaType = mediaTypeOf(response.headers.get('content-type'));
    const answer =
      mediaType === 'application/json'
        ? readJsonAnswer(reading, await response.json())
        : mediaType === 'text/event-stream' && response.body !== null
          ? await readResumableAnswer(reading, response.body, controller.signal)
          : undefined;
    if (answer === undefined) {
      throw new GatehouseError(
        'upstream_error',
        `The MCP server of ${session.service} answered the tool call without a response to it`,
        { service: session.service },
      );
    }
    return answer;
  } catch (error) {
    if (controller.signal.aborted) {
      // The server is told, as the official client tells it (not when the client closed: its sessions end too);
      // the caller sees the reason (a timeout, a cancel, the closed client).
      if (!session.calls.closed) {
        void tell(
          session,
          {
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: id, reason: String(timedOut ? 'Request timed out' : hooks.signal?.reason) },
          },
          hooks.timeoutMs,
        );
      }
      throw controller.signal.reason;
    }
    throw error;
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
    const release = () => {
      clearTimeout(timer);
      untrack();
    };
    // The rest of an event stream read after its answer: the call's timer bounds it (then aborts the request).
    if (reading.rest === undefined) release();
    else void reading.rest.finally(release);
  }
}

/** A JSON-RPC message POSTed as the client's transport POSTs it. */
function post(session: DirectSession, message: unknown, signal?: AbortSignal): Promise<Response> {
  return send(
    session,
    'POST',
    { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    JSON.stringify(message),
    signal,
  );
}

/**
 * A notification or a response POSTed, its outcome ignored (never rejects): the server answers 202 without a body,
 * and any body it sends instead is discarded at once (an event stream held open would keep its connection, and a
 * closing upstream waiting, until undici's body timeout); a POST still waiting for its answer after `timeoutMs`, or
 * when the client closes, is ended.
 */
function tell(session: DirectSession, message: unknown, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  const untrack = session.calls.track(controller);
  return post(session, message, AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]))
    .then((response) => response.body?.cancel())
    .catch(() => {})
    .finally(untrack);
}

/**
 * Refuses the server's questions of one call one at a time, each refusal given the call's time at most: a server
 * asking hundreds at once had the gateway open a connection for each.
 */
function refuserOf(session: DirectSession, hooks: DirectCallHooks): Handlers['refuse'] {
  let refusing = Promise.resolve();
  return (questionId, method) => {
    const refusal = {
      jsonrpc: '2.0',
      id: questionId,
      error: { code: ProtocolErrorCode.InvalidRequest, message: hooks.cannotAsk(method) },
    };
    refusing = refusing.then(() => tell(session, refusal, hooks.timeoutMs));
  };
}

/** A request to the session's endpoint with the session's headers (credential, session id, protocol version). */
function send(
  session: DirectSession,
  method: 'POST' | 'GET',
  more: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const headers: Record<string, string> = {
    ...session.headers,
    ...more,
    'mcp-protocol-version': session.protocolVersion,
  };
  if (session.sessionId !== undefined) headers['mcp-session-id'] = session.sessionId;
  return session.fetch(session.url, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(signal === undefined ? {} : { signal }),
  });
}

/**
 * Where an answer's event stream was left: the last event id it dispatched, the reconnection time it asked for,
 * and the bytes read so far (with those of the streams it resumed).
 */
interface StreamPosition {
  lastEventId?: string;
  retryMs?: number;
  bytes: number;
}

/**
 * One call's reading of its answer: the session and request id, what handles the messages other than the response,
 * where its event stream was left, and the background reading of the stream's rest once the response came (the
 * server ends the stream; cutting it at once would close a connection that could be reused).
 */
interface AnswerReading {
  readonly session: DirectSession;
  readonly id: string;
  readonly handlers: Handlers;
  readonly position: StreamPosition;
  rest?: Promise<void>;
}

/** Failed resumptions of an answer stream in a row before the call fails (the official client's `maxRetries`). */
const maxResumeFailures = 2;

/**
 * The result of the response to `id` on its event stream. A stream that ends or breaks before the response, after
 * an event id, is resumed by GET with `Last-Event-ID` (the server replays what followed), as the official client
 * resumes it: a 2025-11-25 server may close an answer stream on purpose and let the client poll (SEP-1699). The
 * server's `retry` time is waited first, else 1 s doubling up to 30 s (either at least 100 ms: `toResumeDelay`);
 * the call fails after `maxResumeFailures` failed resumptions in a row, with an `upstream_error` (never an HTTP
 * status: the call was received, and must not be sent again on a new session). The call's timer (`signal`) bounds
 * all of it.
 */
async function readResumableAnswer(
  reading: AnswerReading,
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): Promise<Record<string, unknown> | undefined> {
  const { session, position } = reading;
  let failures = 0;
  for (let stream = body; ; ) {
    const answer = await readStreamAnswer(reading, stream).catch((error: unknown) => {
      // A broken stream is resumed like an ended one; the server's error, a refused or oversized answer and an
      // abort are not.
      const resumable =
        !signal.aborted && position.lastEventId !== undefined && position.bytes <= session.maxResponseBytes;
      if (!resumable || isGatehouseError(error) || error instanceof ProtocolError) throw error;
      return undefined;
    });
    if (answer !== undefined || position.lastEventId === undefined) return answer;
    for (;;) {
      const wait = position.retryMs ?? Math.min(1_000 * 2 ** failures, 30_000);
      await delay(toResumeDelay(wait), undefined, { signal });
      const headers = { accept: 'text/event-stream', 'last-event-id': position.lastEventId };
      const response = await send(session, 'GET', headers, undefined, signal).catch((error: unknown) => {
        if (signal.aborted) throw error;
        return undefined;
      });
      const opened = response?.ok === true && mediaTypeOf(response.headers.get('content-type')) === 'text/event-stream';
      if (opened && response?.body) {
        stream = response.body;
        failures = 0;
        break;
      }
      await response?.text().catch(() => {});
      if (++failures >= maxResumeFailures) {
        throw new GatehouseError(
          'upstream_error',
          `The MCP server of ${session.service} closed the tool call's answer stream before answering, and resuming it failed${response === undefined ? '' : ` (HTTP ${response.status})`}`,
          { service: session.service, ...(response === undefined ? {} : { status: response.status }) },
        );
      }
    }
  }
}

type Message = Record<string, unknown>;
const isObject = (value: unknown): value is Message =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The result of the response to `id` in a JSON answer (one message or a batch); every other message handled. */
function readJsonAnswer({ session, id, handlers }: AnswerReading, data: unknown): Record<string, unknown> | undefined {
  let answer: Record<string, unknown> | undefined;
  for (const message of Array.isArray(data) ? data : [data]) {
    if (!isObject(message)) continue;
    // The first response counts, as for the official client (it knows the request no more after it).
    const response = answer === undefined ? resultOf(session, id, message) : undefined;
    if (response !== undefined) answer = response;
    else handleOther(id, message, handlers);
  }
  return answer;
}

/**
 * The result of the response to `id` on an event stream; messages before it handled as they come, the rest of the
 * stream after it read in the background (`reading.rest`).
 */
async function readStreamAnswer(
  reading: AnswerReading,
  body: ReadableStream<Uint8Array>,
): Promise<Record<string, unknown> | undefined> {
  const { session, id, handlers } = reading;
  const events = readEvents(body, reading.position, session);
  for (;;) {
    const next = await events.next();
    if (next.done === true) return undefined;
    const message = parseMessage(next.value);
    if (message === undefined) continue;
    const answer = resultOf(session, id, message);
    if (answer !== undefined) {
      // The request is over: its progress and log messages have no one to reach (the client's request is answered,
      // and progress after it breaks the protocol), as the official client drops them; questions are still refused.
      const settled = { ...handlers, onProgress: undefined, onLog: undefined };
      reading.rest = (async () => {
        for await (const data of events) {
          const later = parseMessage(data);
          if (later !== undefined) handleOther(id, later, settled);
        }
      })().catch(() => {});
      return answer;
    }
    handleOther(id, message, handlers);
  }
}

/** The response to `id`: its result, or its error thrown (as the official client throws it). */
function resultOf(session: DirectSession, id: string, message: Message): Record<string, unknown> | undefined {
  if (message['id'] !== id || 'method' in message) return undefined;
  const error = message['error'];
  if (isObject(error)) {
    const code = typeof error['code'] === 'number' ? error['code'] : ProtocolErrorCode.InternalError;
    // A message that is not text is not printed (`String()` of a deeply nested array overflows the stack).
    const text = typeof error['message'] === 'string' ? error['message'] : '';
    throw ProtocolError.fromError(code, text, error['data']);
  }
  const result = message['result'];
  if (!isObject(result)) {
    throw new GatehouseError(
      'upstream_error',
      `The MCP server of ${session.service} answered a result that is not an object`,
      {
        service: session.service,
      },
    );
  }
  return result;
}

/** A message other than the response: progress, a log message, a list change, or a question refused. */
function handleOther(id: string, message: Message, hooks: Handlers): void {
  const method = message['method'];
  if (typeof method !== 'string') return;
  const params = isObject(message['params']) ? message['params'] : {};
  if ('id' in message && (typeof message['id'] === 'string' || typeof message['id'] === 'number')) {
    hooks.refuse(message['id'], method);
    return;
  }
  try {
    notify(id, method, params, hooks);
  } catch {
    // As the official client: a notification its handler fails on (data too deep to scrub) is dropped, not the call.
  }
}

/** A notification on the answer stream passed to its hook: progress of this request, a log message, a list change. */
function notify(id: string, method: string, params: Message, hooks: Handlers): void {
  if (method === 'notifications/progress') {
    if (params['progressToken'] !== id || hooks.onProgress === undefined) return;
    const { progress, total, message: text } = params;
    if (typeof progress !== 'number') return;
    hooks.onProgress({
      progress,
      ...(typeof total === 'number' ? { total } : {}),
      ...(typeof text === 'string' ? { message: text } : {}),
    });
  } else if (method === 'notifications/message') {
    hooks.onLog?.({ ...params, level: params['level'] });
  } else if (listChanged.test(method)) {
    hooks.onListChanged();
  }
}

function parseMessage(data: string): Message | undefined {
  try {
    const value: unknown = JSON.parse(data);
    return isObject(value) ? value : undefined;
  } catch {
    // As the official client: an event that is not JSON is skipped.
    return undefined;
  }
}

/**
 * The `data` of each `message` event of an event stream (the WHATWG event stream format); `position` follows the
 * last event id dispatched, the reconnection time asked for and the bytes read, which may not exceed the cap.
 */
async function* readEvents(
  body: ReadableStream<Uint8Array>,
  position: StreamPosition,
  cap: Pick<DirectSession, 'maxResponseBytes' | 'tooLarge'>,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const lineEnd = /\r\n|\r|\n/g;
  // The current line so far, in pieces: each chunk is searched once, and a long line arriving in many chunks is
  // joined once when it ends (searching the line from its start on every chunk cost CPU quadratic in its length).
  let pieces: string[] = [];
  // The last chunk ended with `\r`: a `\n` opening the next one ends the same line.
  let afterCarriageReturn = false;
  let data: string[] = [];
  let event = '';
  let eventId = '';
  for await (const chunk of body) {
    const over = countAnswerBytes(position, chunk.byteLength, cap);
    if (over !== undefined) throw over;
    const text = decoder.decode(chunk, { stream: true });
    let start: number = afterCarriageReturn && text.startsWith('\n') ? 1 : 0;
    afterCarriageReturn = false;
    lineEnd.lastIndex = start;
    for (let found = lineEnd.exec(text); found !== null; found = lineEnd.exec(text)) {
      pieces.push(text.slice(start, found.index));
      const line = pieces.join('');
      pieces = [];
      start = lineEnd.lastIndex;
      afterCarriageReturn = found[0] === '\r' && start === text.length;
      if (line === '') {
        // As a browser's EventSource: the id is the stream's last one once its event is dispatched, data or not.
        if (eventId !== '') position.lastEventId = eventId;
        if (data.length > 0 && (event === '' || event === 'message')) yield data.join('\n');
        data = [];
        event = '';
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\u0000')) eventId = value;
        else if (field === 'retry' && /^\d+$/.test(value)) position.retryMs = Number(value);
      }
    }
    if (start < text.length) pieces.push(text.slice(start));
  }
}
