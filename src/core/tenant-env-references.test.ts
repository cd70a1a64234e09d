import { describe, expect, it } from 'vitest';
import {
  findEnvReferences,
  otherTenantEnvPatterns,
  refuseForeignEnvReferences,
  tenantEnvPatterns,
} from './tenant-env-references.ts';

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
    expect(() => refuseForeignEnvReferences('acme', ok, current, patterns, [])).not.toThrow();
    expect(() => refuseForeignEnvReferences('acme', { a: '${env:SHARED_KEY}' }, undefined, patterns, [])).not.toThrow();
    expect(() => refuseForeignEnvReferences('acme', { a: '${env:SHARED_KEY_2}' }, undefined, patterns, [])).toThrow(
      /^a: \$\{env:SHARED_KEY_2\} is not allowed for tenant acme/,
    );
    expect(() =>
      refuseForeignEnvReferences('acme', { s: [{ d: 'x ${env:GATEHOUSE_MASTER_KEY}' }] }, current, patterns, []),
    ).toThrow(expect.objectContaining({ code: 'config_invalid', details: { path: 's[0].d' } }));
  });

  it("refuses a name under another tenant's longer default prefix nested in this tenant's (acme and acme-eu)", () => {
    const others = otherTenantEnvPatterns('acme', ['acme', 'acme-eu', 'globex'], undefined);
    expect(others).toEqual(['GATEHOUSE_TENANT_ACME_EU_*', 'GATEHOUSE_TENANT_GLOBEX_*']);
    const own = tenantEnvPatterns('acme', undefined);
    const refuse = (name: string, current?: unknown) =>
      refuseForeignEnvReferences('acme', { services: [{ auth: { token: `\${env:${name}}` } }] }, current, own, others);
    expect(() => refuse('GATEHOUSE_TENANT_ACME_EU_TOKEN')).toThrow(
      expect.objectContaining({ code: 'config_invalid', details: { path: 'services[0].auth.token' } }),
    );
    // Its own names stay allowed, a name sharing only the start of the other prefix included.
    expect(() => refuse('GATEHOUSE_TENANT_ACME_TOKEN')).not.toThrow();
    expect(() => refuse('GATEHOUSE_TENANT_ACME_EUROPE_TOKEN')).not.toThrow();
    // acme-eu itself is not hindered by acme's shorter prefix.
    const eu = otherTenantEnvPatterns('acme-eu', ['acme', 'acme-eu'], undefined);
    expect(() =>
      refuseForeignEnvReferences(
        'acme-eu',
        { a: '${env:GATEHOUSE_TENANT_ACME_EU_TOKEN}' },
        undefined,
        tenantEnvPatterns('acme-eu', undefined),
        eu,
      ),
    ).not.toThrow();
    // A name the tenant's configuration already uses (the operator put it there) stays usable.
    expect(() =>
      refuse('GATEHOUSE_TENANT_ACME_EU_TOKEN', { x: '${env:GATEHOUSE_TENANT_ACME_EU_TOKEN}' }),
    ).not.toThrow();
  });

  it('refuses names of a prefix two tenants share (acme-eu and acme_eu) to both, and allows what the operator listed by name', () => {
    const tenants = ['acme-eu', 'acme_eu'];
    for (const tenant of tenants) {
      expect(() =>
        refuseForeignEnvReferences(
          tenant,
          { a: '${env:GATEHOUSE_TENANT_ACME_EU_TOKEN}' },
          undefined,
          tenantEnvPatterns(tenant, undefined),
          otherTenantEnvPatterns(tenant, tenants, undefined),
        ),
      ).toThrow(expect.objectContaining({ code: 'config_invalid' }));
    }
    const tenantEnv = { acme: ['GATEHOUSE_TENANT_ACME_*', 'GATEHOUSE_TENANT_ACME_EU_SHARED'] };
    expect(() =>
      refuseForeignEnvReferences(
        'acme',
        { a: '${env:GATEHOUSE_TENANT_ACME_EU_SHARED}' },
        undefined,
        tenantEnvPatterns('acme', tenantEnv),
        otherTenantEnvPatterns('acme', ['acme', 'acme-eu'], tenantEnv),
      ),
    ).not.toThrow();
  });
});
