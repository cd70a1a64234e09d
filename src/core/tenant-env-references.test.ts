import { describe, expect, it } from 'vitest';
import { findEnvReferences, refuseForeignEnvReferences, tenantEnvPatterns } from './tenant-env-references.ts';

describe('tenant env references', () => {
  it('finds every reference with its field path', () => {
    expect(findEnvReferences({ services: [{ headers: { 'X-A': 'a ${env:ONE} b ${env:TWO}' } }] })).toEqual([
      { name: 'ONE', path: 'services[0].headers.X-A' },
      { name: 'TWO', path: 'services[0].headers.X-A' },
    ]);
  });

  it('defaults to GATEHOUSE_TENANT_<ID>_* and takes the operator list instead when given', () => {
    expect(tenantEnvPatterns('acme-eu.2', undefined)).toEqual(['GATEHOUSE_TENANT_ACME_EU_2_*']);
    expect(tenantEnvPatterns('acme', { acme: ['ACME_*', 'SHARED_KEY'] })).toEqual(['ACME_*', 'SHARED_KEY']);
    expect(tenantEnvPatterns('other', { acme: ['ACME_*'] })).toEqual(['GATEHOUSE_TENANT_OTHER_*']);
  });

  it('allows names matching a pattern or already in the current document, and refuses others naming the field', () => {
    const patterns = ['ACME_*', 'SHARED_KEY'];
    const current = { clientKeys: [{ key: '${env:OLD_KEY}' }] };
    const ok = { clientKeys: [{ key: '${env:OLD_KEY}' }], services: [{ auth: { token: '${env:ACME_T}' } }] };
    expect(() => refuseForeignEnvReferences('acme', ok, current, patterns)).not.toThrow();
    expect(() => refuseForeignEnvReferences('acme', { a: '${env:SHARED_KEY}' }, undefined, patterns)).not.toThrow();
    expect(() => refuseForeignEnvReferences('acme', { a: '${env:SHARED_KEY_2}' }, undefined, patterns)).toThrow(
      /^a: \$\{env:SHARED_KEY_2\} is not allowed for tenant acme/,
    );
    expect(() =>
      refuseForeignEnvReferences('acme', { s: [{ d: 'x ${env:GATEHOUSE_MASTER_KEY}' }] }, current, patterns),
    ).toThrow(expect.objectContaining({ code: 'config_invalid', details: { path: 's[0].d' } }));
  });
});
