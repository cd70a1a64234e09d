import type { Writable } from 'node:stream';
import { createProviderExpander } from '../catalog/index.ts';
import {
  type ConfigTree,
  GatehouseError,
  isGatehouseError,
  loadConfigFile,
  parseConfig,
  readConfigTree,
  requireResolvedEnv,
} from '../core/index.ts';
import type { CliContext } from './cli-context.ts';
import { acceptedOptions, formatCommandHelp, formatUsage } from './command-help.ts';
import { parseCommandLine } from './parse-command-line.ts';
import { runApply, runExport } from './run-apply.ts';
import { runAuditVerify } from './run-audit-verify.ts';
import { runCheck } from './run-check.ts';
import { runDoctor } from './run-doctor.ts';
import { runImport } from './run-import.ts';
import { runKeysCreate } from './run-keys-create.ts';
import { runProvidersList, runProvidersShow } from './run-providers.ts';
import { runServe } from './run-serve.ts';
import { runTenantPurge } from './run-tenant-purge.ts';
import { runUsers } from './run-users.ts';
import { runVaultRewrap, runVaultRotate } from './run-vault.ts';

const usage = formatUsage();

/** Services naming a catalogue `provider` are expanded from the built-in catalogue (read on first use). */
const expandProvider = createProviderExpander();

/**
 * The `gatehouse` command. Returns the exit code; `serve` resolves only when the server has stopped.
 * Adapters (store, vault, upstream client) come from `context.openAdapters`, chosen in main.ts.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  try {
    const { command, values } = parseCommandLine(argv);
    const [name, sub, ...rest] = command;
    if (values.version) {
      context.stdout.write(`${context.version ?? 'unknown'}\n`);
      return 0;
    }
    // `gatehouse keys create --help` and `gatehouse help keys create` print that command's help.
    const asked = name === 'help' ? [sub, ...rest].filter((w): w is string => w !== undefined) : command;
    if (values.help || name === undefined || name === 'help') {
      const help = asked.length > 0 ? formatCommandHelp(asked) : undefined;
      if (asked.length > 0 && help === undefined) {
        throw new GatehouseError('invalid_request', `unknown command '${asked.join(' ')}' (see gatehouse --help)`);
      }
      context.stdout.write(`${help ?? usage}\n`);
      return name === undefined && !values.help ? 2 : 0;
    }
    // An option of another command is refused, never ignored (`tenant purge --dry-run` purged).
    const accepted = acceptedOptions(command);
    const foreign =
      accepted &&
      Object.keys(values).find((option) => option !== 'help' && option !== 'version' && !accepted.options.has(option));
    if (accepted && foreign !== undefined) {
      const own = [...accepted.options].map((option) => `--${option}`).join(', ');
      throw new GatehouseError(
        'invalid_request',
        `'${accepted.command}' has no option --${foreign}${own === '' ? '' : ` (its options: ${own})`}; see gatehouse ${accepted.command} --help`,
      );
    }
    const configPath = values.config ?? context.env['GATEHOUSE_CONFIG'];
    const config = () => {
      if (configPath === undefined) {
        throw new GatehouseError('config_invalid', 'No configuration: pass --config FILE (or set GATEHOUSE_CONFIG)', {
          path: '',
        });
      }
      return loadConfigFile(configPath, context.env, 'error', expandProvider);
    };
    /**
     * The config for a command that does not use the secrets' values: an unset `${env:...}` is left unresolved
     * (check warns about it; `serve` still refuses). `needs` names the top-level fields the command does use.
     */
    const configShape = (command: string, needs: readonly string[]) => {
      const shape =
        configPath === undefined
          ? parseConfig({}, { env: context.env })
          : loadConfigFile(configPath, context.env, 'defer', expandProvider);
      requireResolvedEnv(shape, command, needs);
      return shape;
    };
    const adapterFields = [
      'store',
      'migrationStore',
      'dataDir',
      'masterKey',
      'masterKeyFile',
      'redis',
      'sqliteNativeBinding',
    ];
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
        return await runServe(tree, Boolean(values.demo), context, expandProvider);
      }
      case 'check':
        if (configPath === undefined) config();
        return await runCheck(configShape('check', []), Boolean(values.json), context);
      case 'import':
        if (sub === undefined || rest.length > 0)
          throw new GatehouseError('invalid_request', 'import takes one description file');
        return runImport(sub, values.service ?? 'api', Boolean(values.json), context);
      case 'keys':
        if (sub !== 'create')
          throw new GatehouseError('invalid_request', `unknown keys command '${sub ?? ''}' (try: keys create)`);
        return await runKeysCreate(configShape('keys create', adapterFields), values, context);
      case 'users':
        return await runUsers(
          configShape(`users ${sub ?? ''}`.trim(), adapterFields),
          sub,
          values,
          context,
          configPath,
        );
      case 'doctor':
        // Unset secrets are findings here, not a refusal: doctor reports everything it can in one run.
        return await runDoctor(
          configPath === undefined
            ? parseConfig({}, { env: context.env })
            : loadConfigFile(configPath, context.env, 'defer', expandProvider),
          values.json === true,
          context,
        );
      case 'audit':
        if (sub !== 'verify')
          throw new GatehouseError('invalid_request', `unknown audit command '${sub ?? ''}' (try: audit verify)`);
        // Without a config, the default store (./.gatehouse/gatehouse.db, as `serve --demo` uses) is read.
        return await runAuditVerify(
          configShape('audit verify', ['store', 'dataDir', 'masterKey', 'masterKeyFile', 'sqliteNativeBinding']),
          values,
          context,
        );
      case 'vault': {
        // Like `audit verify`, these work on the default data folder when no config is given.
        const vaultConfig = configShape(`vault ${sub ?? ''}`.trim(), adapterFields);
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
            ...(previousPath === undefined
              ? {}
              : { previous: loadConfigFile(previousPath, context.env, 'error', expandProvider) }),
          },
          context,
        );
      }
      case 'providers': {
        if (sub === 'list' && rest.length === 0)
          return runProvidersList(values.category, Boolean(values.json), context);
        if (sub === 'show' && rest.length === 1) {
          // The redirect URI comes from the config's publicUrl (or GATEHOUSE_PUBLIC_URL / the default listen).
          const publicUrl = configShape('providers show', []).publicUrl;
          return runProvidersShow(rest[0] as string, publicUrl, Boolean(values.json), context);
        }
        throw new GatehouseError(
          'invalid_request',
          `unknown providers command '${[sub, ...rest].join(' ')}' (try: providers list, providers show ID)`,
        );
      }
      case 'apply': {
        if (configPath === undefined) config();
        const tree = readConfigTree(configPath as string);
        const parseOptions = { env: context.env, baseDir: tree.baseDir, source: tree.source, expandProvider };
        // The whole file is validated before anything is opened: a broken file changes nothing (exit 2).
        const shape = configShape('apply', adapterFields);
        return await runApply(shape, tree, parseOptions, context, Boolean(values['dry-run']));
      }
      case 'export': {
        if (configPath === undefined) config();
        return await runExport(configShape('export', adapterFields), context);
      }
      case 'migrate': {
        if (configPath === undefined) config();
        const adapters = await context.openAdapters(configShape('migrate', adapterFields), context);
        await adapters.close();
        const applied = adapters.appliedMigrations ?? [];
        context.stdout.write(
          applied.length === 0
            ? 'Migrations are up to date.\n'
            : `Applied ${applied.length} migration(s): ${applied.join(', ')}. Migrations are up to date.\n`,
        );
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
    // The code first: scripts (and tests) match on it, people read the message.
    stderr.write(`gatehouse: ${error.code}: ${error.message}\n`);
    return error.code === 'config_invalid' || error.code === 'invalid_request' || error.code === 'description_invalid'
      ? 2
      : 1;
  }
  // Unknown errors may carry request data in their message: print only their kind, and a system error's code and
  // call (EACCES, open), which name the cause without data.
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  const cause = [code, syscall].filter((part) => typeof part === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(part));
  stderr.write(
    `gatehouse: unexpected ${(error as Error)?.name ?? 'error'}${cause.length > 0 ? ` (${cause.join(', ')})` : ''}\n`,
  );
  return 1;
}
