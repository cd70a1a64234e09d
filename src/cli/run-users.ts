import { type Config, GatehouseError, systemClock } from '../core/index.ts';
import { createTenantUserAccounts } from '../gateway/index.ts';
import { createMemoryLimiter } from '../policy/index.ts';
import { type CliContext, cliActor } from './cli-context.ts';
import { formatTable } from './format-table.ts';
import type { CommandLine } from './parse-command-line.ts';
import { withStoredTenants } from './with-stored-tenants.ts';

/**
 * `gatehouse users add|list|disable --tenant T`: end users of a tenant. `add --name N` prints the invite link the
 * person opens to set a password (once; the store keeps its hash); `disable --name N` ends their sessions at once.
 */
export async function runUsers(
  config: Config,
  action: string | undefined,
  values: CommandLine['values'],
  context: CliContext,
  /** The config file read (`--config` or GATEHOUSE_CONFIG); undefined when none was given. */
  configPath?: string,
): Promise<number> {
  if (action !== 'add' && action !== 'list' && action !== 'disable') {
    throw new GatehouseError(
      'invalid_request',
      `unknown users command '${action ?? ''}' (try: users add, users list, users disable)`,
    );
  }
  const tenant = values.tenant;
  if (tenant === undefined) throw new GatehouseError('invalid_request', `users ${action} needs --tenant T`);
  // The usual cause of an unknown tenant is a forgotten --config: say which file was read, so the reader sees it
  // was not theirs. Without one no store is opened (it would be made in the working directory).
  const unknown = () => {
    const read =
      configPath === undefined
        ? 'no config file was given (only the defaults were read): pass --config FILE or set GATEHOUSE_CONFIG'
        : `read ${configPath}; pass --config with the file that defines tenant ${tenant}`;
    return new GatehouseError('not_found', `No tenant ${tenant} in the config or the store: ${read}`, {
      field: 'tenant',
    });
  };
  if (configPath === undefined && !config.tenants.some((t) => t.id === tenant)) throw unknown();
  if (action !== 'list' && values.name === undefined) {
    throw new GatehouseError('invalid_request', `users ${action} needs --name N`, { field: 'name' });
  }
  const adapters = await context.openAdapters(config, context);
  try {
    // A tenant created through the admin API is in the store only.
    const served = await withStoredTenants(config, adapters);
    if (!served.tenants.some((t) => t.id === tenant)) throw unknown();
    const accounts = createTenantUserAccounts(served, {
      store: adapters.store,
      clock: systemClock,
      limiter: createMemoryLimiter(systemClock),
      ...(adapters.audit ? { onSecurityEvent: (event) => adapters.audit?.recordSecurityEvent(event) } : {}),
    });
    if (action === 'add') {
      const created = await accounts.createUser(
        tenant,
        {
          name: values.name as string,
          ...(values['display-name'] === undefined ? {} : { displayName: values['display-name'] }),
        },
        cliActor,
      );
      context.stdout.write(`${created.inviteUrl}\n`);
      context.stderr.write(
        `Created user '${created.user.name}' (${created.user.id}) in ${tenant}. Send them the invite link above: it sets their password, works once, until ${created.inviteExpiresAt}.\n`,
      );
      return 0;
    }
    const users = await accounts.listUsers(tenant);
    if (action === 'list') {
      if (values.json) context.stdout.write(`${JSON.stringify({ users }, null, 2)}\n`);
      else
        context.stdout.write(
          formatTable(
            ['NAME', 'ID', 'STATUS', 'SIGN-IN', 'INVITE', 'CREATED'],
            users.map((u) => [
              u.name,
              u.id,
              u.status,
              u.signIn.join('+') || '-',
              u.invitePending ? 'pending' : '-',
              u.createdAt,
            ]),
          ),
        );
      return 0;
    }
    const user = users.find((u) => u.name === values.name);
    if (user === undefined)
      throw new GatehouseError('not_found', `No user '${values.name}' in ${tenant}`, { field: 'name' });
    await accounts.disableUser(tenant, user.id, cliActor);
    context.stderr.write(`Disabled user '${user.name}' in ${tenant}; their sessions have ended.\n`);
    return 0;
  } finally {
    await adapters.close();
  }
}
