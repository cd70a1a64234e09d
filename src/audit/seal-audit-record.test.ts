import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../store/index.ts';
import { sealAuditRecord, toCanonicalAuditRecord } from './seal-audit-record.ts';

const record: AuditRecord & { seq: number } = {
  tenantId: 'acme',
  seq: 7,
  id: 'rec-7',
  at: 1_700_000_000_000,
  requestId: 'req-7',
  kind: 'tool_call',
  event: null,
  toolset: 'support',
  clientKey: 'agent',
  subject: 'alice',
  tool: 'pets_list',
  method: 'GET',
  pathTemplate: '/pets',
  decision: 'allow',
  code: null,
  upstreamStatus: 200,
  latencyMs: 1.25,
  detail: null,
  target: null,
  fingerprint: null,
};
const genesis = '0'.repeat(64);

describe('sealAuditRecord()', () => {
  it('AU-04 is stable: the canonical form and its hash never change for the same record (golden value)', () => {
    expect(toCanonicalAuditRecord(record)).toBe(
      '["gatehouse.audit.v1","acme",7,"rec-7",1700000000000,"req-7","tool_call",null,"support","agent","alice","pets_list","GET","/pets","allow",null,200,1.25,null,null,null]',
    );
    expect(sealAuditRecord(record, genesis)).toBe(sealAuditRecord({ ...record }, genesis));
    expect(sealAuditRecord(record, genesis)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('AU-04 changes with every field, with the position and with the previous hash', () => {
    const base = sealAuditRecord(record, genesis);
    const changes: Partial<AuditRecord & { seq: number }>[] = [
      { seq: 8 },
      { tenantId: 'beta' },
      { decision: 'deny' },
      { code: 'rate_limited' },
      { upstreamStatus: 201 },
      { latencyMs: 1.5 },
      { subject: 'bob' },
      { event: 'connect' },
      { fingerprint: 'fp_00' },
      // Moving text between neighbouring fields must not give the same canonical form.
      { toolset: 'supportagent', clientKey: '' },
    ];
    for (const change of changes) expect(sealAuditRecord({ ...record, ...change }, genesis)).not.toBe(base);
    expect(sealAuditRecord(record, 'f'.repeat(64))).not.toBe(base);
  });
});
