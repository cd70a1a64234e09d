import type { IncomingMessage } from 'node:http';
import { GatehouseError } from '../core/index.ts';

/**
 * Reads a request body into one Buffer, refusing more than `limit` bytes with `payload_too_large` (413). A
 * declared `Content-Length` over the limit is refused before reading; a body that grows past it stops being
 * collected at once (the caller answers and closes the connection).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new GatehouseError('invalid_request', 'Request body could not be read', {}, { cause: error }));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function tooLarge(limit: number): GatehouseError {
  return new GatehouseError('payload_too_large', `Request body exceeds ${limit} bytes`, { limit });
}
