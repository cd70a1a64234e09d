import { isDeepStrictEqual } from 'node:util';
import type { TenantDocument } from '../core/index.ts';

/** One resource of a tenant document that a change added, changed or removed. */
export interface ResourceChange {
  readonly kind: 'tenant' | 'service' | 'toolset' | 'clientKey' | 'setting';
  /** The resource's id (a client key's name; a setting's key, e.g. `rateLimit`). */
  readonly id: string;
  readonly change: 'added' | 'changed' | 'removed';
}

/** The lists of a tenant document whose items are resources, with the field that identifies an item. */
const resourceLists = [
  ['services', 'service', 'id'],
  ['toolsets', 'toolset', 'id'],
  ['clientKeys', 'clientKey', 'name'],
] as const;

/**
 * What changed between two versions of a tenant's document, resource by resource (services, toolsets and client
 * keys by id or name; every other top-level key as a `setting`), in document order. `before` undefined: the tenant
 * is new; `after` undefined: it is removed. Names ids and kinds only, never a value (the audit log and `apply`
 * print these).
 */
export function diffTenantDocuments(
  tenantId: string,
  before: Readonly<TenantDocument> | Readonly<Record<string, unknown>> | undefined,
  after: Readonly<TenantDocument> | Readonly<Record<string, unknown>> | undefined,
): ResourceChange[] {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [{ kind: 'tenant', id: tenantId, change: 'added' }];
  if (after === undefined) return [{ kind: 'tenant', id: tenantId, change: 'removed' }];
  const changes: ResourceChange[] = [];
  const old = before as Record<string, unknown>;
  const next = after as Record<string, unknown>;
  for (const [field, kind, key] of resourceLists) {
    const byId = (list: unknown) =>
      new Map(
        (Array.isArray(list) ? list : []).map((item) => [idOf(item as Record<string, unknown>, key), item] as const),
      );
    const was = byId(old[field]);
    const is = byId(next[field]);
    for (const [id, item] of is) {
      if (!was.has(id)) changes.push({ kind, id, change: 'added' });
      else if (!isDeepStrictEqual(was.get(id), item)) changes.push({ kind, id, change: 'changed' });
    }
    for (const id of was.keys()) if (!is.has(id)) changes.push({ kind, id, change: 'removed' });
  }
  const lists = new Set<string>(resourceLists.map(([field]) => field));
  const settings = [...new Set([...Object.keys(old), ...Object.keys(next)])].filter((k) => !lists.has(k) && k !== 'id');
  for (const setting of settings) {
    if (!(setting in old)) changes.push({ kind: 'setting', id: setting, change: 'added' });
    else if (!(setting in next)) changes.push({ kind: 'setting', id: setting, change: 'removed' });
    else if (!isDeepStrictEqual(old[setting], next[setting]))
      changes.push({ kind: 'setting', id: setting, change: 'changed' });
  }
  return changes;
}

/**
 * A resource's id as the config resolves it: a catalogue service without `id` is named after its provider
 * (expand-provider-service.ts), so `apply` never prints `service undefined`.
 */
function idOf(item: Readonly<Record<string, unknown>>, key: string): string {
  const id = item[key] ?? (key === 'id' ? item['provider'] : undefined);
  return String(id);
}

/** `toolset support changed, service crm added` (at most `limit` items, then a count). */
export function summarizeChanges(changes: readonly ResourceChange[], limit = 10): string {
  if (changes.length === 0) return 'no change';
  const shown = changes.slice(0, limit).map((c) => `${c.kind} ${c.id} ${c.change}`);
  return changes.length > limit ? `${shown.join(', ')} and ${changes.length - limit} more` : shown.join(', ');
}
