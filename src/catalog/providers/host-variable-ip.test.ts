import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/index.ts';
import { createProviderExpander } from '../index.ts';
import { writeProviderRoot } from './write-provider-root.ts';

// Breaker 11, finding I: a host-valued variable (the Okta domain) could point the token request, which carries the
// client secret, at a link-local IP literal.
function load(oktaDomain: string, allow?: string[]) {
  return () =>
    parseConfig(
      {
        ...(allow === undefined ? {} : { unsafeAllowPrivateUpstreams: allow }),
        tenants: [
          {
            id: 't',
            services: [
              {
                provider: 'okta',
                openapi: 'okta.yaml',
                clientId: 'c',
                clientSecret: 'secret-123456',
                variables: { oktaDomain },
              },
            ],
          },
        ],
      },
      { expandProvider: createProviderExpander(), env: {} },
    );
}

describe('breaker11 I: host variables', () => {
  it('an IP literal for a host variable is refused at load, naming the variable', () => {
    for (const value of ['169.254.169.254', '10.0.0.5', '8.8.8.8']) {
      expect(load(value)).toThrow(expect.objectContaining({ code: 'config_invalid' }));
      expect(load(value)).toThrow(/variables\.oktaDomain/);
    }
  });

  it('a whole-origin variable ({origin}/api) naming an IP literal is refused too', () => {
    const root = writeProviderRoot(
      `id: zen
name: Zen
categories: [support]
docs: https://zen.example/docs
auth: { type: bearer }
baseUrl: "{origin}/api"
variables:
  - { name: origin, description: Origin, pattern: "^https://[a-z0-9.-]+$" }
description: { pack: zen }
`,
    );
    const expand = createProviderExpander(root);
    const service = { provider: 'zen', token: 'tok-12345678' };
    expect(expand({ ...service, variables: { origin: 'https://169.254.169.254' } })).toMatchObject({
      issues: [{ path: ['variables', 'origin'] }],
    });
    expect(expand({ ...service, variables: { origin: 'https://acme.zen.example' } })).toHaveProperty('service');
  });

  it('allowed when unsafeAllowPrivateUpstreams lists the host; a host name loads', () => {
    expect(load('10.0.0.5', ['10.0.0.5'])).not.toThrow();
    expect(load('acme.okta.com')).not.toThrow();
  });
});
