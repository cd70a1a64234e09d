import type { Readable } from 'node:stream';

/** An answer's size cap: an answer larger than `maxResponseBytes` fails with `tooLarge()`. */
export interface ResponseCap {
  readonly maxResponseBytes: number;
  readonly tooLarge: () => Error;
}

/** The bytes of one answer read so far, across all its streams (an event stream and the streams resuming it). */
export interface AnswerBytes {
  bytes: number;
}

/**
 * Counts `bytes` more of an answer: the cap's error once the answer is larger than the cap, else undefined. The one
 * place an answer's size is checked (a body read whole, an event stream, a direct call's streams together).
 */
export function countAnswerBytes(count: AnswerBytes, bytes: number, cap: ResponseCap): Error | undefined {
  count.bytes += bytes;
  return count.bytes > cap.maxResponseBytes ? cap.tooLarge() : undefined;
}

/**
 * Reads a response body into one Buffer, destroying the stream (and so the connection) as soon as it passes
 * `maxBytes`, failing with `tooLarge()`. Event listeners rather than `for await`: the async iterator costs a
 * generator, end-of-stream tracking and a promise per chunk, which showed in profiles of the request path.
 */
export function readCapped(
  body: Readable,
  maxBytes: number,
  tooLarge: () => Error,
  /** Sees each chunk too, after the answer's own cap: an error it returns fails the read as the cap's does. */
  meter?: (chunk: Buffer) => Error | undefined,
): Promise<Buffer> {
  const cap: ResponseCap = { maxResponseBytes: maxBytes, tooLarge };
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const count: AnswerBytes = { bytes: 0 };
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    body.on('data', (chunk: Buffer) => {
      const over = countAnswerBytes(count, chunk.length, cap) ?? meter?.(chunk);
      if (over !== undefined) {
        body.destroy();
        fail(over);
        return;
      }
      chunks.push(chunk);
    });
    body.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, count.bytes));
    });
    body.once('error', fail);
    // Destroyed without an error (should not happen with undici, which errors on abort): never hang.
    body.once('close', () => {
      if (!settled) fail(new Error('Upstream response body closed before its end'));
    });
  });
}
