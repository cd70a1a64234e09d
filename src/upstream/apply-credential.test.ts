import { describe, expect, it } from 'vitest';
import { applyCredential, applyFixedHeaders, listCredentialSecrets } from './apply-credential.ts';
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
    const applied = applyCredential(request, { type: 'bearer', token: 't0k-0123' });
    expect(applied.headers['authorization']).toBe('Bearer t0k-0123');
    expect(request.headers['authorization']).toBe('Bearer model');
  });

  it('basic encodes UTF-8 username:password', () => {
    const applied = applyCredential(request, { type: 'basic', username: 'zoë', password: 'a:b-0123' });
    expect(applied.headers['authorization']).toBe(`Basic ${Buffer.from('zoë:a:b-0123').toString('base64')}`);
  });

  it('an apiKey header removes every header of that name in any case', () => {
    const applied = applyCredential(
      { ...request, headers: { 'X-Api-Key': 'model', 'x-api-key': 'model' } },
      { type: 'apiKey', in: 'header', name: 'X-API-Key', value: 'secret-0123' },
    );
    expect(applied.headers).toEqual({ 'x-api-key': 'secret-0123' });
  });

  it('an apiKey query removes same-named parameters and leaves the others byte for byte', () => {
    const applied = applyCredential(request, { type: 'apiKey', in: 'query', name: 'api_key', value: 'a&b=c-long' });
    expect(applied.url.search).toBe('?sep=a|b&list=1,2&r=a/b:c&api_key=a%26b%3Dc-long');
    expect(request.url.search).toContain('api_key=model');
  });

  it('an apiKey query also removes encoded spellings of the name', () => {
    const built = { ...request, url: new URL('https://x.com/?api%5Fkey=model&api_key=m2') };
    const applied = applyCredential(built, { type: 'apiKey', in: 'query', name: 'api_key', value: 'key-0123' });
    expect(applied.url.search).toBe('?api_key=key-0123');
  });

  it('(review finding 8b) an apiKey query drops every argument-supplied variant of the credential name', () => {
    // What object-style (form, explode) query arguments let a model add beside the injected credential.
    const variants = [
      'api_key%20=x',
      'API_KEY=y',
      'Api_Key=z',
      '%20api_key=w',
      'api%5Fkey%09=t',
      'api_key+=u',
      'API%5FKEY=v',
      'api_key[]=a',
      'api.key=b',
      'api%20key=c',
    ];
    const built = { ...request, url: new URL(`https://x.com/?${variants.join('&')}&page=2&api_keys=kept`) };
    const applied = applyCredential(built, { type: 'apiKey', in: 'query', name: 'api_key', value: 'key-0123' });
    expect(applied.url.search).toBe('?page=2&api_keys=kept&api_key=key-0123');
  });

  it.each([
    [{ type: 'bearer', token: 'short77' }],
    [{ type: 'apiKey', in: 'header', name: 'X-Key', value: '1234567' }],
    [{ type: 'apiKey', in: 'query', name: 'key', value: 'k' }],
    [{ type: 'basic', username: 'svc', password: 'pw' }],
  ] as const)('(review finding 8a) a secret too short to be scrubbed from results is never sent: %j', (credential) => {
    try {
      applyCredential(request, credential);
      expect.unreachable();
    } catch (error) {
      const e = error as { code: string; message: string };
      expect(e.code).toBe('credential_unavailable');
      expect(e.message).not.toContain('short77');
    }
  });

  it.each([
    [{ type: 'bearer', token: 'a\r\nX-Evil: 1' }],
    [{ type: 'bearer', token: '' }],
    [{ type: 'apiKey', in: 'header', name: 'X-Key', value: 'a\nb-0123456' }],
    [{ type: 'basic', username: 'a:b', password: 'c-01234567' }],
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

describe('token placement and fixed headers', () => {
  it('an OAuth token goes in the header and after the prefix the provider names (Shopify, Zoho)', () => {
    const shopify = applyCredential(request, {
      type: 'bearer',
      token: 'shpat_0123456789',
      placement: { name: 'X-Shopify-Access-Token', prefix: '' },
    });
    expect(shopify.headers['x-shopify-access-token']).toBe('shpat_0123456789');
    // The model-supplied Authorization header is not a credential slot here; it is dropped all the same.
    expect(shopify.headers['authorization']).toBeUndefined();
    const zoho = applyCredential(request, {
      type: 'bearer',
      token: '1000.abcdef0123',
      placement: { name: 'Authorization', prefix: 'Zoho-oauthtoken ' },
    });
    expect(zoho.headers['authorization']).toBe('Zoho-oauthtoken 1000.abcdef0123');
  });

  it('the scrubber gets the bare token whatever its placement', () => {
    expect(
      listCredentialSecrets({
        type: 'bearer',
        token: 'shpat_0123456789',
        placement: { name: 'X-Shopify-Access-Token', prefix: '' },
      }),
    ).toContain('shpat_0123456789');
  });

  it('an apiKey with a prefix gives the scrubber the bare key, not only prefix + key', () => {
    const credential = {
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      prefix: 'Bot ',
      value: 'bot-0123456789',
    } as const;
    expect(applyCredential(request, credential).headers['authorization']).toBe('Bot bot-0123456789');
    expect(listCredentialSecrets(credential)).toContain('bot-0123456789');
  });

  it('fixed headers replace a header of the same name from the tool arguments, in any case', () => {
    const built = { ...request, headers: { 'notion-version': '1999-01-01', 'NOTION-VERSION': 'x', accept: 'a/b' } };
    const fixed = applyFixedHeaders(built, { 'Notion-Version': '2022-06-28' });
    expect(fixed.headers).toEqual({ accept: 'a/b', 'notion-version': '2022-06-28' });
    expect(applyFixedHeaders(built, {})).toBe(built);
  });
});
