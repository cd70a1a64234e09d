import { describe, expect, it } from 'vitest';
import { diffTenantDocuments, summarizeChanges } from './diff-tenant-documents.ts';

describe('diffTenantDocuments', () => {
  it('names each added, changed and removed resource by kind and id, never a value', () => {
    const before = {
      id: 'acme',
      services: [{ id: 'pets', openapi: './a.yaml', auth: { type: 'bearer', token: '${env:OLD}' } }],
      toolsets: [{ id: 'support' }, { id: 'gone' }],
      clientKeys: [{ name: 'agent', key: '${env:K}', toolsets: ['support'] }],
      rateLimit: { perMinute: 5 },
    };
    const after = {
      id: 'acme',
      services: [{ id: 'pets', openapi: './a.yaml', auth: { type: 'bearer', token: '${env:NEW}' } }],
      toolsets: [{ id: 'support' }, { id: 'billing', access: 'write' }],
      clientKeys: [{ name: 'agent', key: '${env:K}', toolsets: ['support'] }],
      approverToken: '${env:APPROVER}',
    };
    const changes = diffTenantDocuments('acme', before, after);
    expect(changes).toEqual([
      { kind: 'service', id: 'pets', change: 'changed' },
      { kind: 'toolset', id: 'billing', change: 'added' },
      { kind: 'toolset', id: 'gone', change: 'removed' },
      { kind: 'setting', id: 'rateLimit', change: 'removed' },
      { kind: 'setting', id: 'approverToken', change: 'added' },
    ]);
    expect(summarizeChanges(changes)).not.toContain('env:');
    expect(summarizeChanges(changes, 2)).toBe('service pets changed, toolset billing added and 3 more');
  });

  it('apply_service_undefined: a catalogue service without an id is named by its effective id (the provider)', () => {
    const before = { id: 'acme', services: [{ provider: 'github', clientId: 'a' }] };
    const after = {
      id: 'acme',
      services: [
        { provider: 'github', clientId: 'b' },
        { provider: 'slack', clientId: 'c' },
      ],
    };
    expect(diffTenantDocuments('acme', before, after)).toEqual([
      { kind: 'service', id: 'github', change: 'changed' },
      { kind: 'service', id: 'slack', change: 'added' },
    ]);
  });

  it('a new or removed tenant is one change; equal documents none', () => {
    expect(diffTenantDocuments('acme', undefined, { id: 'acme' })).toEqual([
      { kind: 'tenant', id: 'acme', change: 'added' },
    ]);
    expect(diffTenantDocuments('acme', { id: 'acme' }, undefined)).toEqual([
      { kind: 'tenant', id: 'acme', change: 'removed' },
    ]);
    expect(
      diffTenantDocuments('acme', { id: 'acme', toolsets: [{ id: 'a' }] }, { id: 'acme', toolsets: [{ id: 'a' }] }),
    ).toEqual([]);
  });
});
