import { readFileSync, statSync } from 'node:fs';
import { GatehouseError } from '../core/index.ts';
import type { MasterKeyEntry } from './master-key-provider.ts';
import { parseMasterKeys } from './parse-master-keys.ts';

export interface ReadMasterKeyFileOptions {
  readonly mode: 'development' | 'production';
  readonly warn: (message: string) => void;
}

/**
 * Reads a master key file (format: see `parseMasterKeys`, e.g. one `<version>:<base64 key>` per line). The file
 * must not be readable by group or others (mode 0600 or 0400): in production such a file is refused with
 * `config_invalid`, in development it is used with a warning. Symbolic links are followed (container secrets).
 */
export function readMasterKeyFile(path: string, options: ReadMasterKeyFileOptions): MasterKeyEntry[] {
  let text: string;
  let permissions: number;
  try {
    permissions = statSync(path).mode & 0o777;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GatehouseError(
      'config_invalid',
      `Cannot read master key file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { file: path },
    );
  }
  // POSIX permission bits mean nothing on Windows, where the file's ACL governs access.
  if (process.platform !== 'win32' && (permissions & 0o077) !== 0) {
    const mode = `0${permissions.toString(8)}`;
    const message = `Master key file ${path} has mode ${mode}, readable by group or others; run chmod 600 on it (in Kubernetes set defaultMode: 0400)`;
    if (options.mode === 'production') throw new GatehouseError('config_invalid', message, { file: path, mode });
    options.warn(message);
  }
  return parseMasterKeys(text, `master key file ${path}`);
}
