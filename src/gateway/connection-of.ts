import type { ConnectionRecord, Store } from '../store/index.ts';
import type { ServiceRuntime } from './build-tenants.ts';
import type { Caller } from './contract.ts';

/**
 * The caller's own connection at an OAuth service (its subject's: a key never borrows another subject's account,
 * `shared` included); null when there is none (yet), undefined for a service without OAuth. The one read of the
 * connection row per call: the policy's scope check, the cache key and the credential all use this row, so the
 * scopes checked are those of the token sent.
 */
export async function connectionOf(
  store: Pick<Store, 'connections'>,
  caller: Pick<Caller, 'tenant' | 'subject'>,
  service: ServiceRuntime,
): Promise<ConnectionRecord | null | undefined> {
  if (service.auth.type !== 'oauth2' || store.connections === undefined) return undefined;
  return (await store.connections.find(caller.tenant, service.id, subjectAt(caller, service))) ?? null;
}

/** Whose connection a call uses at a service: the caller's subject, or `shared` for a service marked shared. */
export function subjectAt(caller: Pick<Caller, 'subject'>, service: Pick<ServiceRuntime, 'shared'>): string {
  return service.shared ? 'shared' : caller.subject;
}
