import { type Clock, GatehouseError } from '../core/index.ts';
import {
  type ResultQuotaOwner,
  type ResultQuotas,
  type ResultStore,
  resultQuotasOf,
  type StoredResult,
  sizeOfStoredResult,
} from './result-store.ts';

export interface MemoryResultStoreOptions extends Partial<ResultQuotas> {
  readonly clock: Clock;
  /** Total characters x 2 (UTF-16 bytes) of stored texts; beyond it a tenant's own oldest entries are evicted. */
  readonly maxBytes: number;
}

interface Entry {
  readonly result: StoredResult;
  readonly tenant: string;
  /** Tenant and subject, joined. */
  readonly subject: string;
  readonly size: number;
}

/**
 * Result handles in this process's memory, within a total byte cap and per-tenant and per-subject caps (MT-08).
 * Expired entries are dropped when space is needed. A new result may evict only older results of its own
 * tenant: its subject's oldest first (subject cap), then the tenant's oldest (tenant cap, total cap). When the
 * total is full of other tenants' results it is refused (`rate_limited`, retry when the earliest one expires),
 * and a result larger than a cap by itself is refused (`payload_too_large`): one tenant can never push out
 * another's handles.
 */
export function createMemoryResultStore(options: MemoryResultStoreOptions): ResultStore & { readonly bytes: number } {
  const { clock, maxBytes } = options;
  const quotas = resultQuotasOf(options);
  const perTenant = Math.min(maxBytes, quotas.maxBytesPerTenant);
  const perSubject = Math.min(perTenant, quotas.maxBytesPerSubject);
  // Insertion order is age: the first matching entry is the oldest.
  const entries = new Map<string, Entry>();
  const used = new Map<string, number>();
  let bytes = 0;

  function usage(key: string): number {
    return used.get(key) ?? 0;
  }

  function count(key: string, delta: number): void {
    const next = usage(key) + delta;
    if (next === 0) used.delete(key);
    else used.set(key, next);
  }

  function remove(key: string, entry: Entry): void {
    entries.delete(key);
    bytes -= entry.size;
    count(`t:${entry.tenant}`, -entry.size);
    count(`s:${entry.subject}`, -entry.size);
  }

  function dropExpired(): void {
    const now = clock.now();
    for (const [key, entry] of entries) if (entry.result.expiresAt <= now) remove(key, entry);
  }

  /** Evicts the oldest entry matching `owned`; false when there is none. */
  function evictOldest(owned: (entry: Entry) => boolean): boolean {
    for (const [key, entry] of entries) {
      if (owned(entry)) {
        remove(key, entry);
        return true;
      }
    }
    return false;
  }

  return {
    get bytes() {
      return bytes;
    },
    async put(key, result, owner: ResultQuotaOwner) {
      const size = sizeOfStoredResult(result);
      const previous = entries.get(key);
      if (previous !== undefined) remove(key, previous);
      if (size > perSubject) {
        throw new GatehouseError(
          'payload_too_large',
          `The result is too large to keep as a handle (${size} bytes, at most ${perSubject} per subject)`,
          { reason: 'result_handle_cap', maxBytes: perSubject },
        );
      }
      const tenantKey = `t:${owner.tenant}`;
      const subject = JSON.stringify([owner.tenant, owner.subject]);
      const subjectKey = `s:${subject}`;
      const fits = () =>
        usage(subjectKey) + size <= perSubject && usage(tenantKey) + size <= perTenant && bytes + size <= maxBytes;
      if (!fits()) dropExpired();
      while (usage(subjectKey) + size > perSubject && evictOldest((e) => e.subject === subject)) {}
      while (
        (usage(tenantKey) + size > perTenant || bytes + size > maxBytes) &&
        evictOldest((e) => e.tenant === owner.tenant)
      ) {}
      if (!fits()) {
        let earliest = Number.POSITIVE_INFINITY;
        for (const entry of entries.values()) earliest = Math.min(earliest, entry.result.expiresAt);
        const retryAfterSeconds = Math.max(1, Math.ceil((earliest - clock.now()) / 1000));
        throw new GatehouseError(
          'rate_limited',
          `The result store is full of other tenants' results; retry in ${retryAfterSeconds} s`,
          { reason: 'result_store_full', retryAfterSeconds },
        );
      }
      entries.set(key, { result, tenant: owner.tenant, subject, size });
      bytes += size;
      count(tenantKey, size);
      count(subjectKey, size);
    },
    async get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.result.expiresAt <= clock.now()) {
        remove(key, entry);
        return undefined;
      }
      return entry.result;
    },
  };
}
