import { isDeepStrictEqual } from 'node:util';
import { findLiteralSecrets, RevisionConflictError, type TenantDocument } from '../core/index.ts';
import type { Store } from '../store/index.ts';

/** The actors that write a config file's tenants: `gatehouse apply` and the reconcile at start. */
export const fileActors = ['apply', 'config-file'] as const;

import type { TenantConfigs } from './create-tenant-configs.ts';
import { diffTenantDocuments, type ResourceChange } from './diff-tenant-documents.ts';

/** What reconciling the store to a config file did, tenant by tenant. */
export interface ReconcileReport {
  /** Tenant id -> its changed resources (tenants left as they were are absent). */
  readonly changed: ReadonlyMap<string, readonly ResourceChange[]>;
  /** Tenant id -> revision now in force, for every stored tenant of the file. */
  readonly revisions: ReadonlyMap<string, number>;
  /** Tenants of the file not stored because a secret field holds a value (the file alone configures them). */
  readonly notStored: readonly { readonly tenantId: string; readonly paths: readonly string[] }[];
  /**
   * Tenants kept as stored although the file says otherwise (changed through the admin API since the file was
   * last written, `onlyChangedSinceFile`): a process built from the file must build these from the store.
   */
  readonly keptFromStore: readonly string[];
}

/**
 * Makes the stored tenant configurations equal to a config file's tenants (issue 14: the file is the declarative
 * way in; at start and with `gatehouse apply` the file wins): each tenant of the file written where it differs,
 * each stored tenant the file does not have removed. `validate` runs on every document first, so a broken file
 * changes nothing. A tenant whose secrets are values rather than `${env:...}` references is not stored (`prune`
 * then keeps any stored copy too); `strictSecrets` makes that an error instead (`apply`).
 */
export async function reconcileTenantConfigs(
  tenantConfigs: TenantConfigs,
  documents: readonly TenantDocument[],
  options: {
    readonly actor: string;
    readonly validate: (d: TenantDocument) => void;
    /**
     * At start: write only the tenants whose file entry changed since the file was last written to the store (by
     * `apply` or a start), and remove none, so changes made through the admin API since then survive a restart.
     * `apply` leaves it off: the store then equals the file. `left`: the file's tenants a start leaves as stored
     * (`tenantsLeftAtStart`, read once before the gateway is built, which needs it too).
     */
    readonly onlyChangedSinceFile?: { readonly left: ReadonlyMap<string, LeftAtStart> };
    /** `apply --dry-run`: the changes are worked out and reported, nothing is written or removed. */
    readonly dryRun?: boolean;
  },
): Promise<ReconcileReport> {
  const notStored: { tenantId: string; paths: string[] }[] = [];
  const storable: TenantDocument[] = [];
  for (const document of documents) {
    options.validate(document);
    const paths = findLiteralSecrets(document);
    if (paths.length === 0) storable.push(document);
    else notStored.push({ tenantId: String(document.id), paths });
  }
  const changed = new Map<string, readonly ResourceChange[]>();
  const revisions = new Map<string, number>();
  const keptFromStore: string[] = [];
  for (const document of storable) {
    const tenantId = String(document.id);
    const left = options.onlyChangedSinceFile?.left.get(tenantId);
    if (left !== undefined) {
      revisions.set(tenantId, left.revision);
      if (left.keptFromStore) keptFromStore.push(tenantId);
      continue;
    }
    if (options.dryRun === true) {
      const current = await tenantConfigs.read(tenantId);
      const changes = diffTenantDocuments(tenantId, current?.config, document);
      if (changes.length > 0) changed.set(tenantId, changes);
      if (current !== undefined) revisions.set(tenantId, current.revision);
      continue;
    }
    const result = await writeLatest(tenantConfigs, tenantId, document, options.actor);
    if (result.changes.length > 0) changed.set(tenantId, result.changes);
    revisions.set(tenantId, result.revision);
  }
  const inFile = new Set(documents.map((d) => String(d.id)));
  if (options.onlyChangedSinceFile !== undefined) return { changed, revisions, notStored, keptFromStore };
  for (const { tenantId, revision } of await tenantConfigs.list()) {
    if (inFile.has(tenantId)) continue;
    if (options.dryRun !== true)
      await tenantConfigs.delete(tenantId, { expectedRevision: revision, actor: options.actor });
    changed.set(tenantId, [{ kind: 'tenant', id: tenantId, change: 'removed' }]);
  }
  return { changed, revisions, notStored, keptFromStore };
}

/** A file tenant whose stored configuration a start leaves as it is (`tenantsLeftAtStart`). */
export interface LeftAtStart {
  readonly revision: number;
  /**
   * The store's copy differs from the file's entry (changed through the admin API since the file was written): the
   * process serves the stored one, and its start does not write the file's configured keys either (finding
   * restart_with_file_key_flips_fleet: a key rotated through the store was written back to its previous value, and
   * every process of the fleet accepted that value until this process applied the stored configuration).
   */
  readonly keptFromStore: boolean;
}

/**
 * The file's tenants a start leaves as stored: those whose entry is what the file last wrote to the store (by
 * `apply` or a start), so the file did not change since. A tenant with a secret written as a value is never stored.
 */
export async function tenantsLeftAtStart(
  store: Pick<Store, 'tenantConfigs'>,
  documents: readonly TenantDocument[],
): Promise<ReadonlyMap<string, LeftAtStart>> {
  const left = new Map<string, LeftAtStart>();
  for (const document of documents) {
    if (findLiteralSecrets(document).length > 0) continue;
    const tenantId = String(document.id);
    const [current, lastFromFile] = await Promise.all([
      store.tenantConfigs.read(tenantId),
      store.tenantConfigs.lastWrittenBy(tenantId, fileActors),
    ]);
    const asWritten = JSON.parse(JSON.stringify(document));
    if (current === undefined || !isDeepStrictEqual(lastFromFile, asWritten)) continue;
    left.set(tenantId, {
      revision: current.revision,
      keptFromStore: !isDeepStrictEqual(current.document, asWritten),
    });
  }
  return left;
}

/** Writes over whatever revision is current: several processes starting at once race on the same tenants. */
async function writeLatest(tenantConfigs: TenantConfigs, tenantId: string, document: TenantDocument, actor: string) {
  for (let attempt = 1; ; attempt++) {
    const current = await tenantConfigs.read(tenantId);
    try {
      return await tenantConfigs.write(tenantId, document, { expectedRevision: current?.revision ?? null, actor });
    } catch (error) {
      if (!(error instanceof RevisionConflictError) || attempt === 5) throw error;
    }
  }
}
