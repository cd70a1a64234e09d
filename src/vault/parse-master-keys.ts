import { GatehouseError } from '../core/index.ts';
import type { MasterKeyEntry } from './master-key-provider.ts';

const hexKey = /^[0-9a-fA-F]{64}$/;
const base64Key = /^(?:[A-Za-z0-9+/]{43}|[A-Za-z0-9_-]{43})=?$/;
const versionedEntry = /^(\d{1,9}):(.*)$/;

/**
 * Parses master keys from `GATEHOUSE_MASTER_KEY` or a key file. The text holds entries separated by newlines or
 * commas; blank entries and lines starting with `#` are ignored. An entry is `<version>:<key>`, e.g.
 * `2:q0Vb...=`; a text holding a single entry may omit the version (it is version 1). A key is 32 bytes encoded
 * as base64, base64url (padding optional) or hex. The newest version is the current one.
 *
 * Throws `config_invalid` naming `source` and the entry number; the message never contains key material.
 */
export function parseMasterKeys(text: string, source: string): MasterKeyEntry[] {
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) {
    throw new GatehouseError('config_invalid', `${source}: no master key found`, { source });
  }
  const seen = new Set<number>();
  return entries.map((entry, index) => {
    const match = versionedEntry.exec(entry);
    if (match === null && entries.length > 1) {
      throw invalid(source, index, 'expected <version>:<key> when several keys are given');
    }
    const version = match === null ? 1 : Number(match[1]);
    if (version < 1) throw invalid(source, index, 'versions start at 1');
    if (seen.has(version)) throw invalid(source, index, `version ${version} appears twice`);
    seen.add(version);
    return { version, key: decodeKey(match === null ? entry : (match[2] ?? '').trim(), source, index) };
  });
}

function decodeKey(encoded: string, source: string, index: number): Buffer {
  const key = hexKey.test(encoded)
    ? Buffer.from(encoded, 'hex')
    : base64Key.test(encoded)
      ? Buffer.from(encoded, 'base64')
      : undefined;
  if (key === undefined || key.length !== 32) {
    throw invalid(source, index, 'a master key must be 32 bytes encoded as base64, base64url or hex');
  }
  return key;
}

function invalid(source: string, index: number, why: string): GatehouseError {
  return new GatehouseError('config_invalid', `${source}: master key entry ${index + 1} is invalid: ${why}`, {
    source,
    entry: index + 1,
  });
}
