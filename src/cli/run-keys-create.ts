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
    return 0;
  } finally {
    await adapters.close();
  }
}
