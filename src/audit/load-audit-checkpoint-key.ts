import type { AuditRepository } from '../store/index.ts';
import type { AuditKeySealer } from './create-audit-log.ts';
import { deriveAuditCheckpointKey } from './seal-audit-checkpoint.ts';

/** Where the vault keeps a tenant's audit key (the associated data its envelope is bound to). */
export const auditKeyScope = (tenantId: string) => ({ tenantId, owner: 'audit', field: 'fingerprint_key' });

/**
 * The tenant's checkpoint key for `audit verify`: unseals the stored audit key with the vault (so it needs the
 * master key) without creating one; undefined when the tenant has none (it never had a keyed audit log).
 */
export async function loadAuditCheckpointKey(
  repository: AuditRepository,
  sealer: Pick<AuditKeySealer, 'decrypt'>,
  tenant: string,
): Promise<Buffer | undefined> {
  const sealed = await repository.readFingerprintKey(tenant);
  if (sealed === undefined) return undefined;
  const raw = Buffer.from(await sealer.decrypt(auditKeyScope(tenant), sealed), 'base64');
  try {
    return deriveAuditCheckpointKey(raw);
  } finally {
    raw.fill(0);
  }
}
