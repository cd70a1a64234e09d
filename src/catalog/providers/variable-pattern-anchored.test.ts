import { describe, expect, it } from 'vitest';
import { createProviderExpander } from '../index.ts';
import { writeProviderRoot } from './write-provider-root.ts';

// Breaker 11, finding G: an unanchored variable pattern let a value move the base URL's host.
function providerRoot(pattern: string): string {
  const root = writeProviderRoot(
    `id: zen
name: Zen
categories: [support]
docs: https://zen.example/docs
auth: { type: bearer }
baseUrl: https://{subdomain}.zen.example/api
variables:
  - { name: subdomain, description: Subdomain, pattern: ${JSON.stringify(pattern)} }
description: { pack: zen }
`,
  );
  return root;
}

function expandWith(pattern: string, subdomain: string): unknown {
  try {
    return createProviderExpander(providerRoot(pattern))({
      provider: 'zen',
      token: 'tok-12345678',
      variables: { subdomain },
    });
  } catch (error) {
    return error;
  }
}

describe('breaker11 G: provider variable patterns', () => {
  it('an unanchored pattern is refused, and the value never moves the host', () => {
    const result = expandWith('[a-z0-9-]+', 'evil.example/x?');
    expect(JSON.stringify(result)).not.toContain('evil.example/x?.zen');
    expect(result).toMatchObject({ code: 'config_invalid' });
  });

  it('an alternation anchored only at its ends still has to match the whole value', () => {
    const result = expandWith('^acme|beta$', 'acme.evil.example/x?');
    expect(JSON.stringify(result)).not.toContain('evil.example/x?.zen');
  });

  it('an anchored pattern and a matching value expand', () => {
    const result = expandWith('^[a-z0-9-]+$', 'acme') as { service?: Record<string, unknown> };
    expect(result.service?.['baseUrl']).toBe('https://acme.zen.example/api');
  });
});
