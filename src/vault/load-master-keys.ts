import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GatehouseError } from '../core/index.ts';
import { createLocalMasterKeyProvider, type LocalMasterKeyProvider } from './create-local-master-key-provider.ts';
import { parseMasterKeys } from './parse-master-keys.ts';
import { readMasterKeyFile } from './read-master-key-file.ts';

export interface LoadMasterKeysOptions {
  readonly mode: 'development' | 'production';
  /** The value of `GATEHOUSE_MASTER_KEY` / config `masterKey` (format: see `parseMasterKeys`). */
  readonly masterKey?: string | undefined;
  /** The path of `GATEHOUSE_MASTER_KEY_FILE` / config `masterKeyFile`. */
  readonly masterKeyFile?: string | undefined;
  /** The data folder, where development mode keeps a generated key (`master.key`). */
  readonly dataDir: string;
  readonly warn: (message: string) => void;
}

/** Name of the key file generated in development mode, inside the data folder. */
export const developmentKeyFileName = 'master.key';

/**
 * Builds the master key provider from config (ST-01):
 * - `masterKey` or `masterKeyFile` (not both, `config_invalid`) gives the keys;
 * - production mode without either throws `master_key_missing`: the gateway refuses to start;
 * - development mode without either uses `<dataDir>/master.key`, generating 32 random bytes into it first
 *   (folder 0700, file 0600) with a loud warning. The key itself is never passed to `warn` or put in an error.
 */
export function loadMasterKeys(options: LoadMasterKeysOptions): LocalMasterKeyProvider {
  const { mode, masterKey, masterKeyFile, warn } = options;
  if (masterKey !== undefined && masterKeyFile !== undefined) {
    throw new GatehouseError(
      'config_invalid',
      'Set either masterKey (GATEHOUSE_MASTER_KEY) or masterKeyFile, not both',
      {
        path: 'masterKey',
      },
    );
  }
  const developmentFile = join(options.dataDir, developmentKeyFileName);
  const otherKeySet =
    masterKey !== undefined || (masterKeyFile !== undefined && resolve(masterKeyFile) !== resolve(developmentFile));
  if (otherKeySet && existsSync(developmentFile)) {
    // The first-hour trap: secrets stored under the generated key do not decrypt under a key set later.
    warn(
      `A development master key exists at ${developmentFile}, but ${masterKey !== undefined ? 'GATEHOUSE_MASTER_KEY (masterKey)' : `masterKeyFile ${masterKeyFile}`} is set and is used instead: ` +
        'secrets stored with the development key will not decrypt unless it is the same key',
    );
  }
  if (masterKey !== undefined) {
    const source = 'masterKey (GATEHOUSE_MASTER_KEY)';
    return createLocalMasterKeyProvider(() => parseMasterKeys(masterKey, source), source);
  }
  if (masterKeyFile !== undefined) {
    return createLocalMasterKeyProvider(() => readMasterKeyFile(masterKeyFile, { mode, warn }), masterKeyFile);
  }
  if (mode === 'production') {
    throw new GatehouseError(
      'master_key_missing',
      'Production mode needs a master key: set GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE',
    );
  }
  const file = developmentFile;
  if (createDevelopmentKeyFile(file)) {
    warn(
      `!!! DEVELOPMENT MASTER KEY generated at ${file}. Every secret Gatehouse stores is encrypted with it: ` +
        'whoever reads this file can decrypt them, and losing it loses them. Do not use it in production: ' +
        'set GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE and mode: production. !!!',
    );
  } else {
    warn(
      `Using the development master key ${file}; production needs GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE`,
    );
  }
  return createLocalMasterKeyProvider(() => readMasterKeyFile(file, { mode, warn }), file);
}

/**
 * Creates the development key file unless it exists; returns whether it did. The key is written to a private
 * temporary file and hard-linked into place, so a racing process either creates the complete file or finds one.
 */
function createDevelopmentKeyFile(file: string): boolean {
  if (existsSync(file)) return false;
  const dir = join(file, '..');
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const key = randomBytes(32);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(
      temporary,
      `# Gatehouse development master key (generated). Format: <version>:<base64 key>, one per line.\n1:${key.toString('base64')}\n`,
      { mode: 0o600, flag: 'wx' },
    );
    chmodSync(temporary, 0o600);
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && existsSync(file)) return false;
    throw new GatehouseError(
      'config_invalid',
      `Cannot create the development master key file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { file },
    );
  } finally {
    key.fill(0);
    try {
      unlinkSync(temporary);
    } catch {
      // Already gone or never written.
    }
  }
}
