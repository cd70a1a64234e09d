import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { parseMasterKeys } from './parse-master-keys.ts';

const key = randomBytes(32);

function errorOf(run: () => unknown): GatehouseError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatehouseError) return error;
    throw error;
  }
  throw new Error('expected a GatehouseError');
}

describe('parseMasterKeys()', () => {
  it('accepts a bare key as version 1 in base64, base64url (with or without padding) and hex', () => {
    for (const encoded of [
      key.toString('base64'),
      key.toString('base64url'),
      `${key.toString('base64url')}=`,
      key.toString('base64').replace(/=$/, ''),
      key.toString('hex'),
      key.toString('hex').toUpperCase(),
      `  ${key.toString('base64')}\n`,
    ]) {
      const [entry, ...rest] = parseMasterKeys(encoded, 'env');
      expect(rest).toEqual([]);
      expect(entry?.version).toBe(1);
      expect(entry?.key.equals(key)).toBe(true);
    }
  });

  it('reads versioned entries separated by newlines or commas, skipping comments and blank lines', () => {
    const other = randomBytes(32);
    const text = `# rotated 2025, by ops\n\n1:${key.toString('base64')}\n2:${other.toString('hex')}\n`;
    expect(parseMasterKeys(text, 'file').map((e) => e.version)).toEqual([1, 2]);
    const entries = parseMasterKeys(`3:${other.toString('base64url')}, 1:${key.toString('base64')}`, 'env');
    expect(entries.map((e) => [e.version, e.key.equals(e.version === 3 ? other : key)])).toEqual([
      [3, true],
      [1, true],
    ]);
  });

  it('rejects wrong lengths, bad characters, duplicate and zero versions with config_invalid, never echoing the key', () => {
    const good = key.toString('base64');
    const cases = [
      randomBytes(16).toString('base64'),
      randomBytes(31).toString('hex'),
      randomBytes(33).toString('base64'),
      `${good.slice(0, 20)}!${good.slice(21)}`,
      `${good.slice(0, 20)}-${good.slice(21, 30)}+${good.slice(31)}`,
      `1:${good}\n1:${good}`,
      `0:${good}`,
      `${good}\n${good}`,
      '# only a comment',
      '',
    ];
    for (const text of cases) {
      const error = errorOf(() => parseMasterKeys(text, 'masterKey (GATEHOUSE_MASTER_KEY)'));
      expect(error.code).toBe('config_invalid');
      expect(error.message).toContain('masterKey (GATEHOUSE_MASTER_KEY)');
      const dump = JSON.stringify(error) + String(error.stack);
      for (const piece of text.split(/[\n,:]/).filter((p) => p.length > 8)) expect(dump).not.toContain(piece);
    }
  });
});
