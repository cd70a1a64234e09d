import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTenantDocument } from '../core/index.ts';
import { createRefreshMargins } from './create-gateway-refresh.ts';

const fakeApi = fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url));

/** A tenant with one `authorization_code` service per margin (undefined: the service sets none). */
const tenantWith = (id: string, margins: readonly (number | undefined)[], grant = 'authorization_code') =>
  parseTenantDocument({
    id,
    services: margins.map((margin, i) => ({
      id: `s${i}`,
      openapi: fakeApi,
      baseUrl: 'https://api.example.com',
      auth: {
        type: 'oauth2',
        grant,
        tokenUrl: 'https://auth.example.com/token',
        clientId: 'client',
        clientSecret: 'client-secret-0123456789',
        ...(margin === undefined ? {} : { refreshMarginSeconds: margin }),
      },
    })),
  });

describe('createRefreshMargins() (issue 14: the margin follows the tenants served now)', () => {
  it('is the smallest margin of the authorization_code services, 60 s without any', () => {
    expect(createRefreshMargins([]).marginMs()).toBe(60_000);
    expect(createRefreshMargins([tenantWith('a', [120, undefined])]).marginMs()).toBe(60_000);
    expect(createRefreshMargins([tenantWith('a', [120, 300])]).marginMs()).toBe(120_000);
    expect(createRefreshMargins([tenantWith('a', [10], 'client_credentials')]).marginMs()).toBe(60_000);
  });

  it('follows tenants created, changed and removed', () => {
    const margins = createRefreshMargins([tenantWith('a', [120])]);
    margins.put(tenantWith('b', [30, 30]));
    expect(margins.marginMs()).toBe(30_000);
    margins.put(tenantWith('b', [90]));
    expect(margins.marginMs()).toBe(90_000);
    margins.remove('b');
    expect(margins.marginMs()).toBe(120_000);
    margins.remove('a');
    expect(margins.marginMs()).toBe(60_000);
  });
});
