import { type Config, createId, GatehouseError, systemClock } from '../core/index.ts';
import { issueClientKey } from '../gateway/index.ts';
import { type CliContext, cliActor } from './cli-context.ts';
import type { CommandLine } from './parse-command-line.ts';
import { withStoredTenants } from './with-stored-tenants.ts';

/** `gatehouse keys create`: prints a new client key once; the store keeps only its hash. */
export async function runKeysCreate(
  config: Config,
  values: CommandLine['values'],
  context: CliContext,
): Promise<number> {
  if (values.tenant === undefined) throw new GatehouseError('invalid_request', 'keys create needs --tenant');
  const adapters = await context.openAdapters(config, context);
  try {
    const name = values.name ?? `key-${createId(4)}`;
    const key = await issueClientKey(
      await withStoredTenants(config, adapters),
      adapters.store,
      systemClock,
      {
        tenant: values.tenant,
        toolsets: values.toolset ?? [],
        subject: values.subject ?? 'shared',
        name,
        actor: cliActor,
      },
      adapters.audit,
    );
    context.stdout.write(`${key}\n`);
    context.stderr.write(
      `Created client key '${name}' for ${values.tenant} (${(values.toolset ?? []).join(', ')}). It is shown only once.\n`,
    );
    // A subject is a user only by their id: by name it is a key's own subject, whose connect links need an admin.
    const subject = values.subject;
    const named = subject === undefined ? undefined : await adapters.store.users.findByName(values.tenant, subject);
    if (named !== undefined && named.id !== subject) {
      context.stderr.write(
        `warning: subject '${subject}' is the name of user ${named.id}, not their id: this key's connect links open only for an owner or admin; for ${subject}'s own, use --subject ${named.id}\n`,
      );
    }
    return 0;
  } finally {
    await adapters.close();
  }
}
