import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { adminTokenWeakness, type Config, isGatehouseError, systemClock } from '../core/index.ts';
import { openMigrationStore, openRedis, openStore, parseStoreUrl, redactStoreUrl, type Store } from '../store/index.ts';
import { createVault, developmentKeyFileName, loadMasterKeys } from '../vault/index.ts';
import type { CliContext } from './cli-context.ts';
import { collectCheckWarnings } from './run-check.ts';

/** One finding of `gatehouse doctor`: what was checked, how it stands, and what to do when it is not ok. */
export interface DoctorFinding {
  readonly check:
    | 'config'
    | 'store'
    | 'store role'
    | 'owner role'
    | 'migrations'
    | 'clock'
    | 'redis'
    | 'master key'
    | 'public URL'
    | 'admin';
  readonly status: 'ok' | 'warn' | 'fail';
  readonly message: string;
  readonly fix?: string;
}

/** Skew between this host and the database above which tokens and expiries go wrong, in ms. */
const clockWarnMs = 2_000;
const clockFailMs = 30_000;

/**
 * `gatehouse doctor`: checks what a deployment needs before it serves, reading only (it migrates nothing, writes
 * no key file): the config, the store (reachable, version, pending or unknown migrations, clock skew), Redis, the
 * master key (present, not the development key in production, and unwrapping the store's data keys), the public
 * URL and TLS expectations, the admin token. Exit 0 when nothing failed, 1 otherwise (warnings do not fail).
 */
export async function runDoctor(config: Config, json: boolean, context: CliContext): Promise<number> {
  const findings: DoctorFinding[] = [];
  const add = (finding: DoctorFinding) => findings.push(finding);

  add(
    config.unresolvedEnv.length === 0
      ? { check: 'config', status: 'ok', message: `valid; ${config.tenants.length} tenant(s), mode ${config.mode}` }
      : {
          check: 'config',
          status: 'fail',
          message: `valid, but serve needs ${config.unresolvedEnv.map((v) => `${v.variable} (${v.path})`).join(', ')}`,
          fix: 'set those environment variables where the gateway runs',
        },
  );

  // What `check` warns about (a private upstream that every call would be refused, an opt-out of a sign-in ...):
  // valid, but not what the operator meant. Unset variables and the admin token have findings of their own.
  const warnings = collectCheckWarnings(config).filter((w) => w.code !== 'env_unset' && w.code !== 'weak_admin_token');
  if (warnings.length > 0) {
    const shown = warnings.slice(0, 3).map((w) => `${w.path}: ${w.message}`);
    add({
      check: 'config',
      status: 'warn',
      message: `${warnings.length} warning(s): ${shown.join('; ')}${warnings.length > shown.length ? `; and ${warnings.length - shown.length} more` : ''}`,
      fix: 'run gatehouse check --config FILE: it lists each warning with its field path',
    });
  }

  const { store, servedRole } = await checkStore(config, add);
  await checkOwnerRole(config, servedRole, add);
  await checkRedis(config, add);
  await checkMasterKey(config, store, add);
  checkPublicUrl(config, add);
  add(adminFinding(config.adminToken));
  await store?.close();

  const failed = findings.some((f) => f.status === 'fail');
  if (json) {
    context.stdout.write(`${JSON.stringify({ ok: !failed, findings })}\n`);
  } else {
    for (const f of findings) {
      context.stdout.write(`${f.status.padEnd(4)}  ${f.check.padEnd(10)}  ${f.message}\n`);
      if (f.fix !== undefined) context.stdout.write(`${' '.repeat(18)}-> ${f.fix}\n`);
    }
    context.stdout.write(failed ? 'Some checks failed.\n' : 'No check failed.\n');
  }
  return failed ? 1 : 0;
}

/** The store: reachable, its version, migrations, clock skew. Returns it open (the master key check reads it). */
/** Opens and inspects the store; `servedRole`: the PostgreSQL role it serves as, when it could say. */
async function checkStore(
  config: Config,
  add: (finding: DoctorFinding) => void,
): Promise<{ store: Store | undefined; servedRole: string | undefined }> {
  const location = parseStoreUrl(config.store);
  if (location.dialect === 'sqlite' && location.path !== ':memory:' && !existsSync(location.path)) {
    // Opening it would create it: doctor only reads.
    add({ check: 'store', status: 'ok', message: `${location.path} does not exist yet; serve creates it` });
    return { store: undefined, servedRole: undefined };
  }
  let store: Store | undefined;
  let servedRole: string | undefined;
  try {
    store = await openStore(config.store, {
      sqliteNativeBinding: config.sqliteNativeBinding,
      connectTimeoutMs: 5_000,
    });
    const seen = await store.inspect();
    servedRole = seen.role?.name;
    add({ check: 'store', status: 'ok', message: `${seen.serverVersion} at ${redactStoreUrl(config.store)}` });
    if (seen.role !== undefined) {
      const fix =
        'serve as a non-owner application role: store = its URL, migrationStore = the owner role\'s (docs/operations.md "Tenant isolation")';
      add(
        !seen.role.boundByRowLevelSecurity
          ? {
              check: 'store role',
              status: 'warn',
              message: `${seen.role.name} bypasses row-level security (superuser or BYPASSRLS): tenants are kept apart by the gateway's queries alone`,
              fix,
            }
          : seen.role.ownsTables
            ? {
                check: 'store role',
                status: 'warn',
                message: `${seen.role.name} owns the tables: row-level security binds it, but it could drop the policies`,
                fix,
              }
            : {
                check: 'store role',
                status: 'ok',
                message: `${seen.role.name}, bound by row-level security, owns no table`,
              },
      );
    }
    if (seen.unknownMigrations.length > 0) {
      // One release ahead during a rolling upgrade is served (expand-only migrations); with migrations of this
      // release still pending it is another branch of history, which serve refuses.
      const ahead = seen.pendingMigrations.length === 0;
      add({
        check: 'migrations',
        status: ahead ? 'warn' : 'fail',
        message: `the database ran migrations this release does not have: ${seen.unknownMigrations.join(', ')}${ahead ? ' (a newer release migrated it; this one serves on it)' : ''}`,
        fix: ahead
          ? 'finish the rolling upgrade: replace the processes of this release with the newer one'
          : 'run the release that migrated it (or newer); migrations are forward-only',
      });
    } else if (seen.pendingMigrations.length > 0) {
      add({
        check: 'migrations',
        status: 'warn',
        message: `${seen.pendingMigrations.length} pending: ${seen.pendingMigrations.join(', ')}`,
        fix:
          seen.role !== undefined && config.migrationStore === undefined
            ? // On PostgreSQL a non-owner application role cannot create or change the tables.
              "run gatehouse migrate (serve also runs them at start) as the schema's owner: when store is a non-owner application role, set migrationStore (GATEHOUSE_MIGRATION_STORE) to the owner role's URL"
            : 'run gatehouse migrate (serve also runs them at start)',
      });
    } else {
      add({ check: 'migrations', status: 'ok', message: 'none pending' });
    }
    if (seen.databaseTime !== undefined) {
      const skewMs = Math.abs(seen.databaseTime.getTime() - Date.now());
      add({
        check: 'clock',
        status: skewMs > clockFailMs ? 'fail' : skewMs > clockWarnMs ? 'warn' : 'ok',
        message: `this host and the database differ by ${skewMs} ms`,
        ...(skewMs > clockWarnMs ? { fix: 'run NTP (chrony, systemd-timesyncd) on both hosts' } : {}),
      });
    }
  } catch (error) {
    add({
      check: 'store',
      status: 'fail',
      message: isGatehouseError(error) ? error.message : `cannot open ${redactStoreUrl(config.store)}`,
      fix: 'check the store URL (store, GATEHOUSE_STORE) and that the database accepts connections from this host',
    });
  }
  return { store, servedRole };
}

/**
 * With `migrationStore`: the owner role that serve and `migrate` connect as first, at every start, to migrate and
 * grant the application role; a start stops when it cannot log in, so doctor fails then too.
 */
async function checkOwnerRole(
  config: Config,
  servedRole: string | undefined,
  add: (finding: DoctorFinding) => void,
): Promise<void> {
  if (config.migrationStore === undefined) return;
  const fix =
    'set migrationStore (GATEHOUSE_MIGRATION_STORE) to the URL of the role that owns the schema (docs/operations.md "Tenant isolation")';
  let owner: Store | undefined;
  try {
    owner = await openMigrationStore(config.store, config.migrationStore, { connectTimeoutMs: 5_000 });
    const role = (await owner.inspect()).role;
    if (role === undefined) {
      add({ check: 'owner role', status: 'fail', message: 'migrationStore applies to PostgreSQL stores only', fix });
    } else if (role.name === servedRole) {
      add({
        check: 'owner role',
        status: 'fail',
        message: `${role.name} is the application role too: serve refuses to grant a role to itself`,
        fix: "serve as a separate non-owner role: store = its URL, migrationStore = the owner role's",
      });
    } else if (role.tablesOwner === undefined) {
      add({
        check: 'owner role',
        status: 'ok',
        message: `${role.name}, no tables yet: the first migrate creates them`,
      });
    } else if (role.ownsTables) {
      add({ check: 'owner role', status: 'ok', message: `${role.name}, owns the tables` });
    } else {
      add({
        check: 'owner role',
        status: 'warn',
        message: `${role.name} does not own the store's tables (${role.tablesOwner} does): it cannot migrate them or grant the application role`,
        fix,
      });
    }
  } catch (error) {
    add({
      check: 'owner role',
      status: 'fail',
      message: `${isGatehouseError(error) ? error.message : `cannot open ${redactStoreUrl(config.migrationStore)}`}: serve and migrate stop at start`,
      fix,
    });
  } finally {
    await owner?.close();
  }
}

async function checkRedis(config: Config, add: (finding: DoctorFinding) => void): Promise<void> {
  if (config.redis === undefined) {
    if (config.store.startsWith('postgres')) {
      add({
        check: 'redis',
        status: 'warn',
        message: 'not configured: rate limits, the response cache and refresh locks are per process',
        fix: 'set GATEHOUSE_REDIS when several gateway processes share this store',
      });
    } else {
      add({ check: 'redis', status: 'ok', message: 'not configured (one process on SQLite needs none)' });
    }
    return;
  }
  try {
    const redis = await openRedis(config.redis);
    try {
      const info = await redis.info('server');
      const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
      const [major = 0, minor = 0] = version.split('.').map(Number);
      const old = major < 6 || (major === 6 && minor < 2);
      add({
        check: 'redis',
        status: old ? 'warn' : 'ok',
        message: `Redis ${version}`,
        ...(old ? { fix: 'use Redis 6.2 or newer (tested with 7)' } : {}),
      });
    } finally {
      redis.disconnect();
    }
  } catch {
    add({
      check: 'redis',
      status: 'fail',
      message: 'cannot connect to the configured Redis',
      fix: 'check the Redis URL (redis, GATEHOUSE_REDIS) and that it accepts connections from this host',
    });
  }
}

async function checkMasterKey(
  config: Config,
  store: Store | undefined,
  add: (finding: DoctorFinding) => void,
): Promise<void> {
  const developmentFile = join(config.dataDir, developmentKeyFileName);
  const configured = config.masterKey !== undefined || config.masterKeyFile !== undefined;
  if (!configured) {
    if (config.mode === 'production') {
      add({
        check: 'master key',
        status: 'fail',
        message: 'production mode without a master key: serve refuses to start',
        fix: 'set GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE (docs/operations.md, "The master key")',
      });
      return;
    }
    if (!existsSync(developmentFile)) {
      const stored = store === undefined ? 0 : await countDataKeys(store);
      // A store written with another key: a generated key would open none of its data keys, and serve would stop
      // with decrypt_failed right after generating it.
      add(
        stored > 0
          ? {
              check: 'master key',
              status: 'fail',
              message: `none configured, and the store holds ${stored} data key(s) wrapped by a master key: serve would generate a new development key at ${developmentFile}, which opens none of them, and stop with decrypt_failed`,
              fix: `configure the key the store was written with: GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE, or its development key file put back at ${developmentFile}`,
            }
          : {
              check: 'master key',
              status: 'warn',
              message: `none yet: serve will generate a development key at ${developmentFile}`,
              fix: 'set GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE before storing real secrets',
            },
      );
      return;
    }
  }
  if (
    config.mode === 'production' &&
    config.masterKeyFile !== undefined &&
    resolve(config.masterKeyFile) === resolve(developmentFile)
  ) {
    add({
      check: 'master key',
      status: 'fail',
      message: `production uses the generated development key ${developmentFile}`,
      fix: 'create a production key outside the data folder and rewrap (docs/operations.md, "Rotating the master key")',
    });
    return;
  }
  const warnings: string[] = [];
  try {
    const masterKeys = loadMasterKeys({
      mode: config.mode,
      masterKey: config.masterKey,
      masterKeyFile: config.masterKeyFile,
      dataDir: config.dataDir,
      warn: (message) => warnings.push(message),
    });
    // Unconfigured, loading only said "Using the development master key ...": this finding's message and fix say
    // that already. What reading the key file says (its permissions) comes later, when a data key is unwrapped.
    if (!configured) warnings.length = 0;
    const source = configured ? 'configured' : `the development key ${developmentFile}`;
    if (store === undefined) {
      add({
        check: 'master key',
        status: configured ? 'ok' : 'warn',
        message: `${source} (not checked against the store: unreachable)`,
        ...(!configured ? { fix: developmentKeyFix } : {}),
      });
      return;
    }
    const vault = createVault({ dataKeys: store.dataKeys, masterKeys, clock: systemClock });
    let verified: Awaited<ReturnType<typeof vault.verifyDataKeys>>;
    try {
      verified = await vault.verifyDataKeys(await store.tenants.list());
    } catch {
      // The key loaded; the store cannot say more (an empty database before `gatehouse migrate`: no tables yet).
      // The migrations finding says what to do; blaming the key here sent operators after the wrong problem.
      add({
        check: 'master key',
        status: 'warn',
        message: `${source} (not checked against the store: its data keys cannot be read, see migrations)`,
      });
      return;
    }
    const { checked, failed } = verified;
    if (failed.length > 0) {
      add({
        check: 'master key',
        status: 'fail',
        message: `${failed.length} of ${checked} data keys do not unwrap with ${configured ? 'the configured key' : source} (tenants ${[...new Set(failed.map((f) => f.tenantId))].join(', ')}; wrapped with master key version ${[...new Set(failed.map((f) => f.masterKeyVersion))].join(', ')})`,
        fix: "configure the master key the store was written with, every version named (after a rotation: add the new version to this host's key file or variable; keep old versions until vault rewrap reports none left)",
      });
      return;
    }
    add({
      check: 'master key',
      status: warnings.length > 0 || !configured ? 'warn' : 'ok',
      message: `${source}; unwraps all ${checked} data keys${warnings.length > 0 ? `; ${warnings.join('; ')}` : ''}`,
      ...(!configured ? { fix: developmentKeyFix } : {}),
    });
  } catch (error) {
    add({
      check: 'master key',
      status: 'fail',
      message: isGatehouseError(error) ? error.message : 'cannot load the master key',
      fix: 'fix the master key setting (docs/operations.md, "The master key")',
    });
  }
}

/** What to do about serving with the development master key (a warning, not a failure, outside production). */
const developmentKeyFix = 'set GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE before production';

/** The data keys in the store, over every tenant it lists; 0 when it cannot say (no tables before `migrate`). */
async function countDataKeys(store: Store): Promise<number> {
  try {
    let count = 0;
    for (const tenantId of await store.tenants.list()) count += (await store.dataKeys.list(tenantId)).length;
    return count;
  } catch {
    return 0;
  }
}

function checkPublicUrl(config: Config, add: (finding: DoctorFinding) => void): void {
  const url = new URL(config.publicUrl);
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || url.hostname.startsWith('127.');
  if (url.protocol === 'https:') {
    add({ check: 'public URL', status: 'ok', message: `${config.publicUrl} (HTTPS)` });
  } else if (loopback) {
    add({
      check: 'public URL',
      status: config.mode === 'production' ? 'warn' : 'ok',
      message: `${config.publicUrl}: reachable from this host only`,
      ...(config.mode === 'production'
        ? { fix: 'set GATEHOUSE_PUBLIC_URL to the HTTPS URL clients use, behind a TLS-terminating proxy' }
        : {}),
    });
  } else {
    add({
      check: 'public URL',
      status: config.mode === 'production' ? 'fail' : 'warn',
      message: `${config.publicUrl} is plain HTTP on a network address: client keys, OAuth codes and session cookies would cross the network in clear`,
      fix: 'serve HTTPS through a TLS-terminating proxy and set GATEHOUSE_PUBLIC_URL to its https:// URL',
    });
  }
}

/**
 * The admin API: off without a token; a short token is a warning (`adminTokenWeakness`). The token is never shown,
 * only its length.
 */
function adminFinding(adminToken: string | undefined): DoctorFinding {
  if (adminToken === undefined) {
    return {
      check: 'admin',
      status: 'warn',
      message: 'no admin token: the admin API (/api/v1) is off',
      fix: 'set GATEHOUSE_ADMIN_TOKEN to manage tenants, connections and approvals over HTTP',
    };
  }
  const weakness = adminTokenWeakness(adminToken);
  if (weakness !== undefined) {
    return {
      check: 'admin',
      status: 'warn',
      message: `admin API on, but ${weakness.problem}`,
      fix: `${weakness.fix} in GATEHOUSE_ADMIN_TOKEN`,
    };
  }
  return { check: 'admin', status: 'ok', message: 'admin API on' };
}
