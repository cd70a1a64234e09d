import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { StreamMeter } from './meter-event-stream.ts';
import { readCapped } from './read-capped.ts';

/** What `fetchWithDispatcher` caps and refuses, and the `User-Agent` it sends. */
export interface DispatcherFetchLimits {
  /** Sent as `User-Agent` unless the request names one (fetch would send its own). */
  readonly userAgent: string;
  /**
   * An answer declaring a larger `Content-Length`, or whose body (read whole) grows larger, fails with `tooLarge()`.
   * An event stream is not read whole: `meter` bounds it.
   */
  readonly maxResponseBytes: number;
  readonly tooLarge: () => Error;
  /**
   * Sees each chunk of the answer to this request, an event stream or a body read whole (which may be one answer,
   * several streams of one answer, every answer to one request of the caller's, such as the pages of a listing, or a
   * stream of server messages that lives as long as its session: the caller knows which). An error it returns is
   * what the request fails with.
   */
  readonly meter: StreamMeter;
  /** Sees each answer's status and headers before its body is read; an error it returns is thrown. */
  readonly refuse?: (head: { readonly status: number; readonly headers: Headers }) => Error | undefined;
}

/**
 * `fetch(url, init)` as the MCP SDK's client transport uses it, sent with undici's dispatcher API
 * (`dispatcher.request`) instead of WHATWG `fetch`. Through `fetch` a federated call cost ~0.4 ms more CPU (its
 * Request, web streams and signal plumbing), and `fetch` left a listener per request on the transport's long-lived
 * abort signal until a garbage collection removed it, each new one added after a walk of all the others. What the
 * transport relies on is kept:
 * - the answer's status, status text and headers; no redirect is followed (the SDK follows same-origin ones itself);
 * - an event stream (`text/event-stream`) streams as `body`; any other answer is read whole before the promise
 *   resolves (the transport reads it whole anyway), into a `Response` whose `json()` and `text()` parse it directly;
 * - `init.signal` aborts the request or its stream, and the promise rejects with the signal's reason; a network
 *   failure rejects with `TypeError('fetch failed')`, the cause under it, as `fetch` does;
 * - nothing is added to the request but a `User-Agent`: no `Accept-Encoding` (so no decompression either).
 * Request bodies are strings or bytes (the transport sends JSON text).
 */
export async function fetchWithDispatcher(
  dispatcher: Dispatcher,
  url: URL,
  init: RequestInit | undefined,
  limits: DispatcherFetchLimits,
): Promise<Response> {
  const method = init?.method ?? 'GET';
  const signal = init?.signal ?? undefined;
  const body = toRequestBody(init?.body);
  let answer: Dispatcher.ResponseData;
  try {
    answer = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: method as Dispatcher.HttpMethod,
      headers: toHeaderRecord(init?.headers, limits.userAgent),
      body,
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    throw toFetchFailure(error, signal);
  }
  const headers = toHeaders(answer.headers);
  const refusal =
    limits.refuse?.({ status: answer.statusCode, headers }) ??
    (Number(headers.get('content-length') ?? '0') > limits.maxResponseBytes ? limits.tooLarge() : undefined);
  if (refusal !== undefined) {
    // undici errors a destroyed body (`AbortError`): nobody reads this one.
    answer.body.on('error', () => {}).destroy();
    throw refusal;
  }
  const responseInit = { status: answer.statusCode, statusText: answer.statusText, headers };
  if (mediaTypeOf(headers.get('content-type')) === 'text/event-stream') {
    return new Response(toWebStream(answer.body, limits.meter), responseInit);
  }
  let tooLarge: Error | undefined;
  const meter = (chunk: Buffer) => {
    tooLarge = limits.meter(chunk);
    return tooLarge;
  };
  try {
    const bytes = await readCapped(
      answer.body,
      limits.maxResponseBytes,
      () => {
        tooLarge = limits.tooLarge();
        return tooLarge;
      },
      meter,
    );
    return new BufferedResponse(bytes, responseInit);
  } catch (error) {
    if (error !== undefined && error === tooLarge) throw error;
    throw toFetchFailure(error, signal);
  }
}

/** What `fetch` rejects with: the signal's reason when it was aborted, else `TypeError('fetch failed')`. */
function toFetchFailure(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted === true) return signal.reason;
  return new TypeError('fetch failed', { cause: error });
}

function toRequestBody(body: RequestInit['body']): string | Uint8Array | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  throw new TypeError('The MCP client transport sent a request body that is neither text nor bytes');
}

function toHeaderRecord(init: RequestInit['headers'], userAgent: string): Record<string, string> {
  const record: Record<string, string> = { 'user-agent': userAgent };
  if (init === undefined) return record;
  for (const [name, value] of init instanceof Headers ? init : new Headers(init)) record[name] = value;
  return record;
}

function toHeaders(raw: Dispatcher.ResponseData['headers']): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (typeof value === 'string') headers.append(name, value);
    else if (Array.isArray(value)) for (const one of value) headers.append(name, one);
  }
  return headers;
}

/** A `Content-Type`'s media type, lower case, without parameters (`''` when there is none). */
export function mediaTypeOf(contentType: string | null): string {
  if (contentType === null) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/**
 * A node stream as a web stream, pulled as it is read (paused while the reader is behind), each chunk seen by `meter`
 * first: its error fails the web stream (and destroys the connection). A stream destroyed without an error (the
 * request aborted) ends the web stream with an error, never silently.
 */
function toWebStream(body: Readable, meter: StreamMeter): ReadableStream<Uint8Array> {
  let ended = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (error: unknown): void => {
        if (ended) return;
        ended = true;
        controller.error(error);
      };
      body.on('data', (chunk: Buffer) => {
        if (ended) return;
        const over = meter(chunk);
        if (over !== undefined) {
          fail(over);
          body.destroy();
          return;
        }
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 1) <= 0) body.pause();
      });
      body.once('end', () => {
        if (ended) return;
        ended = true;
        controller.close();
      });
      body.on('error', fail);
      body.once('close', () => fail(new TypeError('terminated')));
    },
    pull() {
      body.resume();
    },
    cancel() {
      ended = true;
      body.destroy();
    },
  });
}

/**
 * A `Response` over a body already read: `json()`, `text()` and `arrayBuffer()` answer from the bytes, without
 * the web stream a `Response` built from them would set up and read back (`body` makes one when asked).
 */
class BufferedResponse extends Response {
  readonly #bytes: Buffer;
  #stream: ReadableStream<Uint8Array> | null | undefined;

  constructor(bytes: Buffer, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
  }

  static {
    // Node's types declare these members of `Response` as properties, which a subclass may not override with
    // methods or accessors: they are defined on the prototype here instead.
    const bytesOf = (response: BufferedResponse): Buffer => response.#bytes;
    const text = (response: BufferedResponse): Promise<string> => Promise.resolve(utf8.decode(bytesOf(response)));
    Object.defineProperties(BufferedResponse.prototype, {
      body: {
        get(this: BufferedResponse) {
          if (this.#stream === undefined) this.#stream = new Response(this.#bytes).body;
          return this.#stream;
        },
      },
      text: {
        value(this: BufferedResponse) {
          return text(this);
        },
      },
      json: {
        value(this: BufferedResponse) {
          return text(this).then((decoded) => JSON.parse(decoded) as unknown);
        },
      },
      arrayBuffer: {
        value(this: BufferedResponse) {
          const { buffer, byteOffset, byteLength } = bytesOf(this);
          return Promise.resolve(buffer.slice(byteOffset, byteOffset + byteLength));
        },
      },
      clone: {
        value(this: BufferedResponse) {
          return new BufferedResponse(bytesOf(this), this);
        },
      },
    });
  }
}

/** As `fetch`'s `text()`: UTF-8, a byte order mark dropped. */
const utf8 = new TextDecoder();
