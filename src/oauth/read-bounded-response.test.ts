import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { readBoundedResponse } from './read-bounded-response.ts';

/** A body of `chunks` pieces of `chunkBytes` each, counting how many pieces the reader pulled. */
function countedBody(chunks: number, chunkBytes: number) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(chunkBytes).fill(0x20));
    },
  });
  return { stream, pulled: () => pulled };
}

async function refusal(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  return error as GatehouseError;
}

describe('readBoundedResponse (oauth answer size cap)', () => {
  it('stops reading at the first chunk past the cap', async () => {
    const body = countedBody(100, 1024);
    const error = await refusal(readBoundedResponse(new Response(body.stream), 'token endpoint', 10 * 1024));
    expect(error.code).toBe('oauth_token_failed');
    expect(error.details).toMatchObject({ reason: 'response_too_large', status: 200 });
    expect(error.message).toBe('The token endpoint answer is larger than 10240 bytes and was not read');
    // 11 pieces pass the cap; the stream may have been asked for one more ahead of the reader, not for all 100.
    expect(body.pulled()).toBeLessThanOrEqual(12);
  });

  it('refuses a declared Content-Length over the cap before reading anything', async () => {
    const body = countedBody(100, 1024);
    const response = new Response(body.stream, { headers: { 'content-length': String(100 * 1024) } });
    const error = await refusal(readBoundedResponse(response, 'token endpoint', 10 * 1024));
    expect(error.details).toMatchObject({ reason: 'response_too_large' });
    expect(body.pulled()).toBeLessThanOrEqual(1);
  });

  it('gives back an answer within the cap unchanged, status and headers included', async () => {
    const original = new Response('{"access_token":"a","token_type":"Bearer"}', {
      status: 400,
      headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="x"' },
    });
    const read = await readBoundedResponse(original, 'token endpoint', 1024);
    expect(read.status).toBe(400);
    expect(read.headers.get('www-authenticate')).toBe('Bearer error="x"');
    expect(await read.json()).toEqual({ access_token: 'a', token_type: 'Bearer' });
  });

  it('keeps a bodiless answer bodiless', async () => {
    const read = await readBoundedResponse(new Response(null, { status: 204 }), 'token endpoint');
    expect(read.status).toBe(204);
    expect(read.body).toBeNull();
  });
});
