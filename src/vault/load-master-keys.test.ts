import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { encodeDataKeyAad } from './_envelope.ts';
import { loadMasterKeys } from './load-master-keys.ts';

let dir: string;
let warnings: string[];
const warn = (message: string) => warnings.push(message);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-vault-'));
  warnings = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return error instanceof GatehouseError ? error.code : `not a GatehouseError: ${String(error)}`;
  }
  return 'returned';
}

async function codeOfAsync(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof GatehouseError ? error.code : 'other';
  }
  return 'resolved';
}

function writeKeyFile(content: string, mode: number): string {
  const file = join(dir, 'keys');
  writeFileSync(file, content);
  chmodSync(file, mode);
  return file;
}

const posixOnly = process.platform === 'win32' ? it.skip : it;

describe('loadMasterKeys()', () => {
  it('ST-01 production mode without a master key refuses with master_key_missing and writes no file', () => {
    expect(codeOf(() => loadMasterKeys({ mode: 'production', dataDir: join(dir, 'data'), warn }))).toBe(
      'master_key_missing',
    );
    expect(() => statSync(join(dir, 'data'))).toThrow();
  });

  posixOnly(
    'generates a development key file with mode 0600 in a 0700 folder, warning loudly without the key',
    async () => {
      const dataDir = join(dir, 'data');
      const provider = loadMasterKeys({ mode: 'development', dataDir, warn });
      const file = join(dataDir, 'master.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('DEVELOPMENT MASTER KEY');
      const encoded = readFileSync(file, 'utf8').match(/^1:(\S+)$/m)?.[1] as string;
      expect(Buffer.from(encoded, 'base64')).toHaveLength(32);
      expect(warnings.join()).not.toContain(encoded);
      expect(provider.currentVersion()).toBe(1);

      // A second start reuses the same key.
      const aad = encodeDataKeyAad('t', 1, 1);
      const wrapped = await provider.wrap(1, Buffer.alloc(32, 7), aad);
      const again = loadMasterKeys({ mode: 'development', dataDir, warn });
      expect((await again.unwrap(1, wrapped, aad)).equals(Buffer.alloc(32, 7))).toBe(true);
      expect(warnings).toHaveLength(2);
      expect(readFileSync(file, 'utf8')).toContain(encoded);
    },
  );

  it('uses masterKey; rejects a malformed one naming the source but not the value', () => {
    const value = randomBytes(32).toString('base64');
    expect(loadMasterKeys({ mode: 'production', masterKey: value, dataDir: dir, warn }).versions()).toEqual([1]);
    const bad = randomBytes(20).toString('base64');
    try {
      loadMasterKeys({ mode: 'production', masterKey: bad, dataDir: dir, warn });
      expect.unreachable();
    } catch (error) {
      expect((error as GatehouseError).code).toBe('config_invalid');
      expect((error as GatehouseError).message).toContain('GATEHOUSE_MASTER_KEY');
      expect(JSON.stringify(error) + inspect(error)).not.toContain(bad);
    }
    expect(warnings).toEqual([]);
  });

  it('refuses masterKey and masterKeyFile together', () => {
    const file = writeKeyFile(`1:${randomBytes(32).toString('base64')}\n`, 0o600);
    const masterKey = randomBytes(32).toString('hex');
    expect(
      codeOf(() => loadMasterKeys({ mode: 'development', masterKey, masterKeyFile: file, dataDir: dir, warn })),
    ).toBe('config_invalid');
  });

  posixOnly('reads a versioned key file (newest is current) and picks up a version added later', async () => {
    const v1 = randomBytes(32).toString('base64');
    const file = writeKeyFile(`1:${v1}\n`, 0o600);
    const provider = loadMasterKeys({ mode: 'production', masterKeyFile: file, dataDir: dir, warn });
    expect(provider.currentVersion()).toBe(1);
    const aad = encodeDataKeyAad('t', 1, 2);
    writeKeyFile(`1:${v1}\n2:${randomBytes(32).toString('hex')}\n`, 0o600);
    // Another process rotated: wrap with version 2 there, unwrap here without a restart.
    const rotated = loadMasterKeys({ mode: 'production', masterKeyFile: file, dataDir: dir, warn });
    expect(rotated.currentVersion()).toBe(2);
    const wrapped = await rotated.wrap(2, Buffer.alloc(32, 1), aad);
    expect((await provider.unwrap(2, wrapped, aad)).equals(Buffer.alloc(32, 1))).toBe(true);
    expect(provider.currentVersion()).toBe(2);
    // Unknown versions re-read the file at most once a second.
    expect(await codeOfAsync(provider.unwrap(3, wrapped, aad))).toBe('decrypt_failed');
    expect(warnings).toEqual([]);
  });

  posixOnly('refuses a group- or world-readable key file in production and warns in development', () => {
    const content = `1:${randomBytes(32).toString('base64')}\n`;
    for (const mode of [0o640, 0o604, 0o660]) {
      const file = writeKeyFile(content, mode);
      expect(codeOf(() => loadMasterKeys({ mode: 'production', masterKeyFile: file, dataDir: dir, warn }))).toBe(
        'config_invalid',
      );
      expect(warnings).toEqual([]);
      expect(loadMasterKeys({ mode: 'development', masterKeyFile: file, dataDir: dir, warn }).versions()).toEqual([1]);
      expect(warnings.pop()).toContain('chmod 600');
    }
    const file = writeKeyFile(content, 0o400);
    expect(loadMasterKeys({ mode: 'production', masterKeyFile: file, dataDir: dir, warn }).versions()).toEqual([1]);
  });

  it('reports a missing key file as config_invalid naming the file', () => {
    const file = join(dir, 'absent.key');
    try {
      loadMasterKeys({ mode: 'production', masterKeyFile: file, dataDir: dir, warn });
      expect.unreachable();
    } catch (error) {
      expect((error as GatehouseError).code).toBe('config_invalid');
      expect((error as GatehouseError).details).toEqual({ file });
    }
  });
});
