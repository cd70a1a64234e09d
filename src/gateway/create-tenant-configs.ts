import type { AuditLog } from '../audit/index.ts';
import {
  type Clock,
  findLiteralSecrets,
  GatehouseError,
  otherTenantEnvPatterns,
  refuseForeignEnvReferences,
  type TenantConfig,
  type TenantDocument,
  tenantEnvPatterns,
} from '../core/index.ts';
import type { Store } from '../store/index.ts';
import { checkAlertWebhooks } from './check-alert-webhooks.ts';
import { refuseTakenKeys } from './client-keys.ts';
import { diffTenantDocuments, type ResourceChange, summarizeChanges } from './diff-tenant-documents.ts';

/** Who writes and on which revision (contract-14: `expectedRevision` null = create). */
export interface TenantConfigWrite {
  readonly expectedRevision: number | null;
  readonly actor: string;
  /** One line for the history; absent = the list of changed resources. */
  readonly summary?: string;
  /**
   * The writer is a user of the tenant (a role, a personal API token, the console), not the operator (admin token,
   * `apply`): it may add only the `${env:NAME}` names the tenant may read (`refuseForeignEnvReferences`).
   */
  readonly byTenantUser?: boolean;
}

/**
 * Each tenant's configuration as one versioned document (issue 14, contract-14), for the admin API and `apply`:
 * validated by the config file's tenant schema, stale revisions refused (`RevisionConflictError`), every changed
 * resource audited (`config_changed`, kind and id, never a value), and every process told (store notices and the
 * periodic revision check of `watchTenantConfigs`).
 */
export interface TenantConfigs {
  read(tenantId: string): Promise<{ readonly config: TenantDocument; readonly revision: number } | undefined>;
  list(): Promise<readonly { readonly tenantId: string; readonly revision: number }[]>;
  /** Validates and writes; returns the new revision and what changed (empty: nothing was written). */
  write(
    tenantId: string,
    config: TenantDocument,
    options: TenantConfigWrite,
  ): Promise<{ readonly revision: number; readonly changes: readonly ResourceChange[] }>;
  delete(tenantId: string, options: Omit<TenantConfigWrite, 'summary'>): Promise<void>;
}

export interface TenantConfigsDependencies {
  readonly store: Pick<Store, 'tenantConfigs' | 'tenants' | 'audit' | 'clientKeys' | 'dataKeys'>;
  readonly audit: Pick<AuditLog, 'recordSecurityEvent'>;
  readonly clock: Clock;
  /** Parses a document as the config file's tenant entry (env references substituted, providers expanded). */
  readonly parse: (document: TenantDocument) => TenantConfig;
  /** The config's `tenantEnv`: the env names each tenant's users may reference; absent = the default prefix. */
  readonly tenantEnv?: Readonly<Record<string, readonly string[]>>;
  /** The config's `unsafeAllowPrivateUpstreams`: hosts an alert webhook may name though they resolve privately. */
  readonly allowPrivateHosts?: readonly string[];
}

export function createTenantConfigs(deps: TenantConfigsDependencies): TenantConfigs {
  const { store, audit, clock } = deps;

  async function record(tenantId: string, actor: string, changes: readonly ResourceChange[]): Promise<void> {
    for (const change of changes) {
      await audit
        .recordSecurityEvent({
          tenant: tenantId,
          event: 'config_changed',
          decision: 'allow',
          subject: actor,
          detail: change.change,
          target: `${change.kind}:${change.id}`,
        })
        // Best effort: the change is stored either way (a record needs no key; the tenant's keys are loaded when
        // each process starts serving it, `live.replaceTenant`).
        .catch(() => undefined);
    }
  }

  /**
   * A purged tenant keeps its audit log and key under its id, without its data keys: the id is not
   * served again (its key no longer opens, and a new tenant would chain onto the old one's records).
   */
  async function refusePurgedTenant(tenantId: string): Promise<void> {
    if (!(await store.tenants.isPurged(tenantId))) return;
    throw new GatehouseError(
      'resource_conflict',
      `id: tenant '${tenantId}' was purged: its audit log is kept under this id and its keys were destroyed; choose another id`,
      { path: 'id', reason: 'tenant_purged' },
    );
  }

  return {
    async read(tenantId) {
      const stored = await store.tenantConfigs.read(tenantId);
      return stored === undefined
        ? undefined
        : { config: stored.document as TenantDocument, revision: stored.revision };
    },
    list: () => store.tenantConfigs.list(),

    async write(tenantId, config, options) {
      if ((config as { id?: unknown }).id !== tenantId) {
        throw new GatehouseError('config_invalid', `id: expected '${tenantId}', the tenant being written`, {
          path: 'id',
        });
      }
      const literal = findLiteralSecrets(config);
      if (literal.length > 0) {
        throw new GatehouseError(
          'config_invalid',
          `${literal.join(', ')}: a stored configuration holds secrets as \${env:NAME} references, never values`,
          { path: literal[0] as string },
        );
      }
      const current = await store.tenantConfigs.read(tenantId);
      if (current === undefined) await refusePurgedTenant(tenantId);
      // Before `parse` reads the environment, so an unset name answers as a set one does (nothing to probe).
      if (options.byTenantUser === true) {
        refuseForeignEnvReferences(
          tenantId,
          config,
          current?.document,
          tenantEnvPatterns(tenantId, deps.tenantEnv),
          otherTenantEnvPatterns(tenantId, await store.tenants.list(), deps.tenantEnv),
        );
      }
      const parsed = deps.parse(config);
      await checkAlertWebhooks(parsed, deps.allowPrivateHosts ?? []);
      // Each process writes the configured keys when it serves the new revision: a value another key holds would
      // leave the tenant unserved everywhere, so it is refused here, before anything is stored.
      await refuseTakenKeys(store, parsed);
      const changes = diffTenantDocuments(tenantId, current?.document, config);
      if (current !== undefined && changes.length === 0 && options.expectedRevision === current.revision) {
        return { revision: current.revision, changes };
      }
      const { revision } = await store.tenantConfigs.write(tenantId, config as Record<string, unknown>, {
        expectedRevision: options.expectedRevision,
        actor: options.actor,
        summary: options.summary ?? summarizeChanges(changes),
        at: clock.now(),
      });
      await store.tenants.ensure(tenantId, clock.now());
      await record(tenantId, options.actor, changes);
      return { revision, changes };
    },

    async delete(tenantId, options) {
      await store.tenantConfigs.delete(tenantId, {
        expectedRevision: options.expectedRevision,
        actor: options.actor,
        summary: 'tenant removed',
        at: clock.now(),
      });
      await record(tenantId, options.actor, [{ kind: 'tenant', id: tenantId, change: 'removed' }]);
    },
  };
}
