import type { Config, TenantDocument } from '../../src/core/index.ts';
import type { TenantResourceRoutesOptions } from '../../src/http/index.ts';

/** What the in-memory documents remember of each write, as the store's repository audits it. */
export interface MemoryTenantConfigWrite {
  readonly tenantId: string;
  readonly revision: number;
  readonly actor: string;
  readonly summary: string;
}

export class MemoryRevisionConflict extends Error {
  override readonly name = 'RevisionConflictError';
}

/**
 * Tenant configuration documents in memory, with the contract of the gateway's `tenantConfigs` (issue 14): a write
 * with a stale `expectedRevision` is refused, every write bumps the revision and is remembered with its actor.
 * For admin API tests that look at each write or slip another one in; the real store is tested through `live`. `beforeWrite` lets a test slip another
 * write in between a route's read and its write.
 */
export function createMemoryTenantConfigs(config: Config) {
  const documents = new Map<string, { config: TenantDocument; revision: number }>(
    config.tenants.map((t) => [t.id, { config: structuredClone(t) as unknown as TenantDocument, revision: 1 }]),
  );
  const writes: MemoryTenantConfigWrite[] = [];
  let beforeWrite: ((tenantId: string) => void) | undefined;
  const options: TenantResourceRoutesOptions = {
    isRevisionConflict: (error) => error instanceof MemoryRevisionConflict,
    documents: {
      async read(tenantId) {
        const found = documents.get(tenantId);
        return found && { config: structuredClone(found.config), revision: found.revision };
      },
      async write(tenantId, next, { expectedRevision, actor, summary = '' }) {
        const hook = beforeWrite;
        beforeWrite = undefined;
        hook?.(tenantId);
        const current = documents.get(tenantId);
        if ((current?.revision ?? null) !== expectedRevision) throw new MemoryRevisionConflict('stale revision');
        const revision = (current?.revision ?? 0) + 1;
        documents.set(tenantId, { config: structuredClone(next), revision });
        writes.push({ tenantId, revision, actor, summary });
        return { revision };
      },
    },
  };
  return {
    options,
    writes,
    documentOf: (tenantId: string) => documents.get(tenantId),
    /** Another writer's change, made once, right before the next write is checked. */
    interleave(change: (document: TenantDocument) => TenantDocument) {
      beforeWrite = (tenantId) => {
        const current = documents.get(tenantId);
        if (current === undefined) return;
        documents.set(tenantId, { config: change(current.config), revision: current.revision + 1 });
      };
    },
  };
}
