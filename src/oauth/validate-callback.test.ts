import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import type { ResolvedAuthorizationServer } from './resolve-authorization-server.ts';
import { checkIssuer, validateCallback } from './validate-callback.ts';

const issuer = 'https://login.example.com/tenant/t%C3%A9';
const advertised: ResolvedAuthorizationServer = {
  metadata: { issuer, authorization_response_iss_parameter_supported: true },
  issuerKnown: true,
};
const silent: ResolvedAuthorizationServer = { metadata: { issuer }, issuerKnown: true };

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof GatehouseError ? `${error.code}:${String(error.details['reason'])}` : 'other';
  }
  return 'ok';
}

/** Builds callback parameters whose decoded `iss` is exactly `iss` (as URLSearchParams hands it over). */
const withIss = (iss: string) => {
  const params = new URLSearchParams({ code: 'c', state: 's' });
  params.set('iss', iss);
  return params;
};

describe('checkIssuer() (RFC 9207, no normalisation)', () => {
  it('OA-05 advertised but missing: rejected', () => {
    expect(reasonOf(() => checkIssuer(advertised, new URLSearchParams({ code: 'c' })))).toBe(
      'oauth_issuer_mismatch:missing',
    );
  });

  it.each([
    ['trailing slash', `${issuer}/`],
    ['case of the host', 'https://LOGIN.example.com/tenant/t%C3%A9'],
    ['case of the path', 'https://login.example.com/Tenant/t%C3%A9'],
    ['explicit :443', 'https://login.example.com:443/tenant/t%C3%A9'],
    ['lower-case percent-encoding', 'https://login.example.com/tenant/t%c3%a9'],
    ['decoded character', 'https://login.example.com/tenant/té'],
    ['double encoding', 'https://login.example.com/tenant/t%25C3%25A9'],
  ])('OA-06 an iss differing by %s is rejected, advertised or not', (_name, iss) => {
    expect(reasonOf(() => checkIssuer(advertised, withIss(iss)))).toBe('oauth_issuer_mismatch:mismatch');
    expect(reasonOf(() => checkIssuer(silent, withIss(iss)))).toBe('oauth_issuer_mismatch:mismatch');
  });

  it('OA-07 absent and not advertised: proceeds; byte-equal: proceeds; repeated: rejected', () => {
    expect(reasonOf(() => checkIssuer(silent, new URLSearchParams({ code: 'c' })))).toBe('ok');
    expect(reasonOf(() => checkIssuer(advertised, withIss(issuer)))).toBe('ok');
    const twice = withIss(issuer);
    twice.append('iss', issuer);
    expect(reasonOf(() => checkIssuer(advertised, twice))).toBe('oauth_issuer_mismatch:repeated');
  });

  it('validateCallback() checks state with oauth4webapi after iss', () => {
    const client = { client_id: 'gatehouse' };
    expect(reasonOf(() => validateCallback(silent, client, withIss(issuer), 's'))).toBe('ok');
    expect(reasonOf(() => validateCallback(silent, client, withIss(issuer), 'other'))).toBe(
      'oauth_state_invalid:invalid_response',
    );
    const denied = new URLSearchParams({ error: 'access_denied', state: 's' });
    expect(reasonOf(() => validateCallback(silent, client, denied, 's'))).toBe('oauth_denied:access_denied');
  });
});
