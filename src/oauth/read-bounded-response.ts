import { GatehouseError } from '../core/index.ts';

/**
 * The most an authorization server's or a discovery endpoint's answer may hold, in bytes. A token answer is a few
 * hundred bytes and a site or organisation list a few kilobytes; 1 MiB leaves room for any real one while a
 * hostile or broken endpoint can no longer make the shared process buffer and parse tens of megabytes per connect
 * or background refresh.
 */
export const maxOAuthAnswerBytes = 1024 * 1024;

/** Statuses whose Response may carry no body at all. */
const nullBodyStatuses = new Set([204, 205, 304]);

/**
 * The same answer with its body read into memory, at most `maxBytes` of it: a declared `Content-Length` over the
 * cap is refused before reading, and the read stops at the first chunk past it (the count is of decoded bytes, so
 * a compressed bomb stops too). Over the cap: `oauth_token_failed` (reason `response_too_large`) naming `what`,
 * never anything of the answer. Callers (oauth4webapi included) then read the buffered copy as usual.
 */
export async function readBoundedResponse(response: Response, what: string, maxBytes = maxOAuthAnswerBytes) {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(what, response.status, maxBytes);
  }
  if (response.body === null) return response;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value.byteLength;
    if (seen > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(what, response.status, maxBytes);
    }
    chunks.push(value);
  }
  return new Response(nullBodyStatuses.has(response.status) ? null : Buffer.concat(chunks), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function tooLarge(what: string, status: number, maxBytes: number): GatehouseError {
  return new GatehouseError(
    'oauth_token_failed',
    `The ${what} answer is larger than ${maxBytes} bytes and was not read`,
    { reason: 'response_too_large', status, maxBytes },
  );
}
