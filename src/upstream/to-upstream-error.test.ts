import { inspect } from 'node:util';
import { errors } from 'undici';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { toUpstreamError } from './to-upstream-error.ts';

const secret = 'Bearer sk_live_canary123';

function withHeaders(error: Error, code: string): Error {
  return Object.assign(error, { code, headers: { authorization: secret }, config: { url: `https://x?key=${secret}` } });
}

describe('toUpstreamError()', () => {
  it.each([
    [withHeaders(new Error(`connect ECONNREFUSED ${secret}`), 'ECONNREFUSED'), 'upstream_unreachable', 'connect'],
    [withHeaders(new Error(`getaddrinfo ENOTFOUND ${secret}`), 'ENOTFOUND'), 'upstream_unreachable', 'connect'],
    [withHeaders(new Error(secret), 'ECONNRESET'), 'upstream_unreachable', undefined],
    [withHeaders(new Error(secret), 'CERT_HAS_EXPIRED'), 'upstream_unreachable', undefined],
    [new errors.ConnectTimeoutError(secret), 'upstream_timeout', 'connect'],
    [new errors.HeadersTimeoutError(secret), 'upstream_timeout', undefined],
    [new errors.BodyTimeoutError(secret), 'upstream_timeout', undefined],
    [new errors.SocketError(secret), 'upstream_unreachable', undefined],
    [new errors.ResponseExceededMaxSizeError(secret), 'upstream_too_large', undefined],
    [new Error(secret), 'upstream_error', undefined],
    [secret, 'upstream_error', undefined],
    [withHeaders(new Error(secret), `not a code ${secret}`), 'upstream_error', undefined],
  ])('%s becomes %s without the original text', (input, code, phase) => {
    const error = toUpstreamError(input, 'https://api.example.com');
    expect(error.code).toBe(code);
    expect(error.details['phase']).toBe(phase);
    for (const text of [
      error.message,
      String(error.stack),
      JSON.stringify(error),
      inspect(error, { showHidden: true }),
    ]) {
      expect(text).not.toContain('canary123');
    }
    expect(error.cause).toBeUndefined();
  });

  it('keeps the phase the caller knows unless the code proves nothing was sent', () => {
    expect(toUpstreamError(new errors.SocketError('x'), undefined, 'body').details['phase']).toBe('body');
    expect(
      toUpstreamError(Object.assign(new Error(), { code: 'ECONNREFUSED' }), undefined, 'response').details['phase'],
    ).toBe('connect');
  });

  it('passes a GatehouseError through unchanged', () => {
    const original = new GatehouseError('upstream_blocked', 'Blocked');
    expect(toUpstreamError(original)).toBe(original);
  });
});
