import type { ServiceConfig } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { ServiceRuntime } from './build-tenants.ts';

/** The longest description title a page or message shows as a service's name. */
const titleMax = 80;

/**
 * Whom a connection of `subject` serves, in the words a person (and a model) reads: a signed-in user by name,
 * never the internal `usr_...` id; the tenant's shared connection as what it is (everyone whose calls use it);
 * a client key's subject as configured.
 */
export async function describeSubject(store: Pick<Store, 'users'>, tenant: string, subject: string): Promise<string> {
  return nameSubject(tenant, subject, await subjectUserOf(store, tenant, subject));
}

/** `describeSubject` when the subject's user (`subjectUserOf`) was read already. */
export function nameSubject(tenant: string, subject: string, user: { readonly name: string } | undefined): string {
  if (subject === 'shared') return `everyone using ${tenant}'s shared connection`;
  return user === undefined ? subject : `user ${user.name}`;
}

/**
 * The tenant's user a subject names (`usr_...`), if it is one; else (a client key's subject, `shared`) undefined.
 * Such a subject's connect links open only in that user's browser (`decideLinkOpener`).
 */
export async function subjectUserOf(
  store: Pick<Store, 'users'>,
  tenant: string,
  subject: string,
): Promise<{ readonly id: string; readonly name: string } | undefined> {
  return subject.startsWith('usr_') ? await store.users.get(tenant, subject) : undefined;
}

/**
 * A service as a person recognises it: its configured `title` (a catalogue provider's name by default), else the
 * title of its description, with the id the operator gave it (`Swagger Petstore (pets)`, or `GitHub` alone when it only differs from the id in case); the id alone when
 * neither names it (an `mcp:` server's catalogue is titled by its URL, which says nothing more).
 */
export function describeService(
  id: string,
  config: Pick<ServiceConfig, 'title'> | undefined,
  service: Pick<ServiceRuntime, 'catalog'> | undefined,
): string {
  const catalog = service?.catalog.catalog;
  const described = catalog === undefined || catalog.format === 'mcp' ? '' : catalog.title.trim().slice(0, titleMax);
  const title = config?.title ?? described;
  if (title === '') return id;
  return title.toLowerCase() === id.toLowerCase() ? title : `${title} (${id})`;
}
