import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/index.ts';
import { createAuthorizationRequest } from './create-authorization-request.ts';

// Breaker 11, finding E: the reserved-name check of authorizeParams was case-sensitive and ran only at connect time.
describe('breaker11 E: authorizeParams may not set a protocol parameter', () => {
  it('a protocol parameter named in another case is refused at connect', async () => {
    const as = { issuer: 'https://as.example', authorization_endpoint: 'https://as.example/authorize' };
    for (const name of ['Redirect_URI', 'STATE', 'Code_Challenge_Method']) {
      const attempt = createAuthorizationRequest(as, {
        clientId: 'c',
        redirectUri: 'https://gw.example/oauth/callback',
        scopes: ['a'],
        statePrefix: 't',
        extraParams: { [name]: 'https://evil.example/cb' },
      });
      await expect(attempt).rejects.toMatchObject({ code: 'config_invalid', details: { parameter: name } });
    }
  });

  it('a config with a reserved authorizeParam (any case) is refused at load, naming the field', () => {
    for (const name of ['redirect_uri', 'Redirect_Uri']) {
      const load = () =>
        parseConfig({
          tenants: [
            {
              id: 't',
              services: [
                {
                  id: 's',
                  openapi: 'x.yaml',
                  auth: {
                    type: 'oauth2',
                    authorizationUrl: 'https://as.example/a',
                    tokenUrl: 'https://as.example/t',
                    clientId: 'c',
                    authorizeParams: { [name]: 'https://evil.example/cb' },
                  },
                },
              ],
            },
          ],
        });
      expect(load).toThrow(expect.objectContaining({ code: 'config_invalid' }));
      expect(load).toThrow(/authorizeParams/);
    }
  });

  it('an ordinary authorizeParam still loads', () => {
    const config = parseConfig({
      tenants: [
        {
          id: 't',
          services: [
            {
              id: 's',
              openapi: 'x.yaml',
              auth: {
                type: 'oauth2',
                authorizationUrl: 'https://as.example/a',
                tokenUrl: 'https://as.example/t',
                clientId: 'c',
                authorizeParams: { access_type: 'offline' },
              },
            },
          ],
        },
      ],
    });
    expect(config.tenants[0]?.services[0]?.auth).toMatchObject({ authorizeParams: { access_type: 'offline' } });
  });
});
