import { describe, expect, it } from 'vitest';
import { applyCredential, listCredentialSecrets } from './apply-credential.ts';
import type { BuiltRequest } from './build-request.ts';

const request: BuiltRequest = {
  method: 'GET',
  url: new URL('https://api.example.com/v1/items?sep=a|b&list=1,2&API_KEY=x&api_key=model&r=a/b:c'),
  headers: { accept: 'application/json', 'x-api-key': 'model', authorization: 'Bearer model' },
};

describe('applyCredential()', () => {
  it('none leaves the request as built', () => {
    expect(applyCredential(request, { type: 'none' })).toBe(request);
  });

  it('bearer replaces any Authorization header', () => {
    const applied = applyCredential(request, { type: 'bearer', token: 't0k' });
    expect(applied.headers['authorization']).toBe('Bearer t0k');
    expect(request.headers['authorization']).toBe('Bearer model');
  });

  it('basic encodes UTF-8 username:password', () => {
    const applied = applyCredential(request, { type: 'basic', username: 'zoë', password: 'a:b' });
    expect(applied.headers['authorization']).toBe(`Basic ${Buffer.from('zoë:a:b').toString('base64')}`);
  });

  it('an apiKey header removes every header of that name in any case', () => {
    const applied = applyCredential(
      { ...request, headers: { 'X-Api-Key': 'model', 'x-api-key': 'model' } },
      { type: 'apiKey', in: 'header', name: 'X-API-Key', value: 'secret' },
    );
    expect(applied.headers).toEqual({ 'x-api-key': 'secret' });
  });

  it('an apiKey query removes same-named parameters and leaves the others byte for byte', () => {
    const applied = applyCredential(request, { type: 'apiKey', in: 'query', name: 'api_key', value: 'a&b=c' });
    expect(applied.url.search).toBe('?sep=a|b&list=1,2&API_KEY=x&r=a/b:c&api_key=a%26b%3Dc');
    expect(request.url.search).toContain('api_key=model');
  });

  it('an apiKey query also removes encoded spellings of the name', () => {
    const built = { ...request, url: new URL('https://x.com/?api%5Fkey=model&api_key=m2') };
    const applied = applyCredential(built, { type: 'apiKey', in: 'query', name: 'api_key', value: 'k' });
    expect(applied.url.search).toBe('?api_key=k');
  });

  it.each([
    [{ type: 'bearer', token: 'a\r\nX-Evil: 1' }],
    [{ type: 'bearer', token: '' }],
    [{ type: 'apiKey', in: 'header', name: 'X-Key', value: 'a\nb' }],
    [{ type: 'basic', username: 'a:b', password: 'c' }],
  ] as const)('an unusable credential is refused without echoing it: %j', (credential) => {
    try {
      applyCredential(request, credential);
      expect.unreachable();
    } catch (error) {
      const e = error as { code: string; message: string };
      expect(e.code).toBe('credential_unavailable');
      expect(e.message).not.toContain('Evil');
    }
  });
});

describe('listCredentialSecrets()', () => {
  it('lists the raw and encoded forms for redaction', () => {
    expect(listCredentialSecrets({ type: 'basic', username: 'u', password: 'p' })).toEqual([
      'p',
      Buffer.from('u:p').toString('base64'),
    ]);
    expect(listCredentialSecrets({ type: 'apiKey', in: 'query', name: 'k', value: 'a/b' })).toEqual(['a/b', 'a%2Fb']);
    expect(listCredentialSecrets({ type: 'none' })).toEqual([]);
  });
});
