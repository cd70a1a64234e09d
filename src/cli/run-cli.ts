import type { Writable } from 'node:stream';
import {
  type ConfigTree,
  GatehouseError,
  isGatehouseError,
  loadConfigFile,
  parseConfig,
  readConfigTree,
} from '../core/index.ts';
import type { CliContext } from './cli-context.ts';
import { parseCommandLine } from './parse-command-line.ts';
import { runAuditVerify } from './run-audit-verify.ts';
import { runCheck } from './run-check.ts';
import { runImport } from './run-import.ts';
import { runKeysCreate } from './run-keys-create.ts';
import { runServe } from './run-serve.ts';
import { runTenantPurge } from './run-tenant-purge.ts';
import { runVaultRewrap, runVaultRotate } from './run-vault.ts';

const usage = `Usage: gatehouse <command> [options]

Commands:
  serve [--config FILE] [--demo]       start the gateway (--demo adds the built-in demo tenant and API)
  check --config FILE [--json]         validate a config; list each toolset's tools with token sizes
  import FILE [--service ID] [--json]  preview the tools an OpenAPI/Swagger description becomes
  keys create --config FILE --tenant T --toolset S [--toolset S2] [--subject U] [--name N]
                                       create a client key (printed once; only its hash is stored)
  vault rotate [--config FILE]         add a new master key version to the key file
  vault rewrap [--config FILE]         re-wrap every data key with the newest master key version
  migrate --config FILE                run pending store migrations
  tenant purge --config FILE --tenant T [--previous-config OLD] [--force]
                                       revoke a removed tenant's connections upstream, delete its data and
                                       destroy its data keys (the audit log is kept)
  audit verify [--config FILE] --tenant T [--checkpoint SEQ:HASH] [--json]
                                       check a tenant's audit hash chain and signed checkpoints
                                       (exit 1 at the first bad seq)

Environment: GATEHOUSE_CONFIG, GATEHOUSE_LISTEN, GATEHOUSE_PUBLIC_URL, GATEHOUSE_STORE, GATEHOUSE_MASTER_KEY,
GATEHOUSE_MASTER_KEY_FILE, GATEHOUSE_MODE, GATEHOUSE_DATA_DIR, GATEHOUSE_LOG_LEVEL, GATEHOUSE_ADMIN_TOKEN.
Exit codes: 0 ok, 1 failure, 2 invalid configuration or usage.`;

/**
 * The `gatehouse` command. Returns the exit code; `serve` resolves only when the server has stopped.
 * Adapters (store, vault, upstream client) come from `context.openAdapters`, chosen in main.ts.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  try {
    const { command, values } = parseCommandLine(argv);
    const [name, sub, ...rest] = command;
    if (values.help || name === undefined || name === 'help') {
      context.stdout.write(`${usage}\n`);
      return name === undefined && !values.help ? 2 : 0;
    }
    const configPath = values.config ?? context.env['GATEHOUSE_CONFIG'];
    const config = () => {
      if (configPath === undefined) {
        throw new GatehouseError('config_invalid', 'No configuration: pass --config FILE (or set GATEHOUSE_CONFIG)', {
          path: '',
        });
      }
      return loadConfigFile(configPath, context.env);
    };
    switch (name) {
      case 'serve': {
        const tree: ConfigTree =
          configPath === undefined
            ? { raw: {}, baseDir: process.cwd(), source: 'defaults' }
            : readConfigTree(configPath);
        if (configPath === undefined && !values.demo) {
          throw new GatehouseError(
            'config_invalid',
            'Nothing to serve: pass --config FILE, or --demo for the demo tenant',
            {
              path: '',
            },
          );
        }
        return await runServe(tree, Boolean(values.demo), context);
      }
      case 'check':
        return await runCheck(config(), Boolean(values.json), context);
      case 'import':
        if (sub === undefined || rest.length > 0)
          throw new GatehouseError('invalid_request', 'import takes one description file');
        return runImport(sub, values.service ?? 'api', Boolean(values.json), context);
      case 'keys':
        if (sub !== 'create')
          throw new GatehouseError('invalid_request', `unknown keys command '${sub ?? ''}' (try: keys create)`);
        return await runKeysCreate(config(), values, context);
      case 'audit':
        if (sub !== 'verify')
          throw new GatehouseError('invalid_request', `unknown audit command '${sub ?? ''}' (try: audit verify)`);
        // Without a config, the default store (./.gatehouse/gatehouse.db, as `serve --demo` uses) is read.
        return await runAuditVerify(
          configPath === undefined ? parseConfig({}, { env: context.env }) : config(),
          values,
          context,
        );
      case 'vault': {
        // Like `audit verify`, these work on the default data folder when no config is given.
        const vaultConfig = configPath === undefined ? parseConfig({}, { env: context.env }) : config();
        if (sub === 'rotate') return runVaultRotate(vaultConfig, context);
        if (sub === 'rewrap') return await runVaultRewrap(vaultConfig, context);
        throw new GatehouseError(
          'invalid_request',
          `unknown vault command '${sub ?? ''}' (try: vault rotate, vault rewrap)`,
        );
      }
      case 'tenant': {
        if (sub !== 'purge')
          throw new GatehouseError('invalid_request', `unknown tenant command '${sub ?? ''}' (try: tenant purge)`);
        if (values.tenant === undefined) throw new GatehouseError('invalid_request', 'tenant purge needs --tenant T');
        const previousPath = values['previous-config'];
        return await runTenantPurge(
          config(),
          {
            tenant: values.tenant,
            force: Boolean(values.force),
            ...(previousPath === undefined ? {} : { previous: loadConfigFile(previousPath, context.env) }),
          },
          context,
        );
      }
      case 'migrate': {
        const adapters = await context.openAdapters(config(), context);
        await adapters.close();
        context.stdout.write('Migrations are up to date.\n');
        return 0;
      }
      default:
        throw new GatehouseError('invalid_request', `unknown command '${name}'\n\n${usage}`);
    }
  } catch (error) {
    return reportFailure(error, context.stderr);
  }
}

function reportFailure(error: unknown, stderr: Writable): number {
  if (isGatehouseError(error)) {
    stderr.write(`gatehouse: ${error.message}\n`);
    return error.code === 'config_invalid' || error.code === 'invalid_request' || error.code === 'description_invalid'
      ? 2
      : 1;
  }
  // Unknown errors may carry request data in their message: print only their kind.
  stderr.write(`gatehouse: unexpected ${(error as Error)?.name ?? 'error'}\n`);
  return 1;
}
