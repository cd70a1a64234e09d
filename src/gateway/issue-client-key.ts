import type { AuditLog } from '../audit/index.ts';
import type { Clock } from '../core/index.ts';
import { createId, GatehouseError } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { createClientKey, hashClientKey, labelClientKey } from './hash-client-key.ts';

/** The tenants and toolsets a key may name: the config's, or (in a running gateway) those served now. */
export interface TenantsWithToolsets {
  readonly tenants: readonly { readonly id: string; readonly toolsets: readonly { readonly id: string }[] }[];
}

export interface ClientKeyRequest {
  readonly tenant: string;
  readonly toolsets: readonly string[];
  /** Whose connections the key's calls use. */
  readonly subject: string;
  readonly name: string;
  /** Who creates it, as audit records name them: `operator`, `user:<id>`, `cli` (`gatehouse keys create`). */
  readonly actor: string;
}

/**
 * Creates a client key for toolsets of a tenant named in the config. Returns the key, which is shown once:
 * only its SHA-256 and a label (`labelClientKey`) are stored. With an audit log, a `key_created` security record (target
 * `client_key:<id>`, subject who created it, the key's keyed fingerprint, never the key) is committed before the key is returned.
 */
export async function issueClientKey(
  config: TenantsWithToolsets,
  store: Store,
  clock: Clock,
  request: ClientKeyRequest,
  audit?: Pick<AuditLog, 'recordSecurityEvent' | 'fingerprintSecret'>,
): Promise<string> {
  const tenant = config.tenants.find((t) => t.id === request.tenant);
  if (tenant === undefined)
    throw new GatehouseError('invalid_request', `No tenant '${request.tenant}' in the config`, {
      tenant: request.tenant,
    });
  for (const toolset of request.toolsets) {
    if (!tenant.toolsets.some((t) => t.id === toolset)) {
      throw new GatehouseError('invalid_request', `No toolset '${toolset}' in tenant ${tenant.id}`, { toolset });
    }
  }
  if (request.toolsets.length === 0)
    throw new GatehouseError('invalid_request', 'Name at least one toolset (--toolset)');
  const key = createClientKey();
  await store.tenants.ensure(tenant.id, clock.now());
  const id = createId(9);
  await store.clientKeys.upsert({
    tenantId: tenant.id,
    id,
    name: request.name,
    hash: hashClientKey(key),
    prefix: labelClientKey(key),
    toolsets: request.toolsets,
    subject: request.subject,
    createdAt: clock.now(),
    revokedAt: null,
  });
  await audit?.recordSecurityEvent({
    tenant: tenant.id,
    event: 'key_created',
    decision: 'allow',
    subject: request.actor,
    clientKey: request.name,
    target: `client_key:${id}`,
    fingerprint: audit.fingerprintSecret(tenant.id, key),
  });
  return key;
}
