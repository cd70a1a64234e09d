import { GatehouseError } from '../core/index.ts';
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

/**
 * A step-up refused for a shared service (`scope_missing` or `upstream_insufficient_scope` as `error`, with
 * `details.reason: shared` and no link): its connection serves every caller, so a link minted for one would let
 * that caller consent with an account of their own and replace the working connection for everyone. An operator
 * widens it (console connections page, or the admin API's connect link with `scopes`).
 */
export function sharedStepUpRefusal(error: GatehouseError): GatehouseError {
  const service = String(error.details['service'] ?? '');
  return new GatehouseError(
    error.code,
    `${error.message}; no step-up link: service ${service} uses one shared connection, which only an operator may connect again with more scopes (console connections page, or POST /api/v1/tenants/{tenant}/connections with scopes)`,
    { ...error.details, reason: 'shared' },
  );
}
