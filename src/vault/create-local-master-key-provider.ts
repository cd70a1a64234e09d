import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { GatehouseError } from '../core/index.ts';
import { nonceLength, openAesGcm, sealAesGcm, tagLength } from './_aes-gcm.ts';
import type { MasterKeyEntry, MasterKeyProvider } from './master-key-provider.ts';

/** Wrapped data key of the local provider: format byte 0x01, 12-byte nonce, ciphertext, 16-byte tag. */
const wrappedFormat = 0x01;
/** On an unknown version the key source is re-read at most this often (a stale row must not turn every request
 * into a file read). */
const reloadIntervalMs = 1_000;

export interface LocalMasterKeyProvider extends MasterKeyProvider {
  /** Where the keys come from (an env var name or a file path), for messages. */
  readonly source: string;
  /** Reads the key source again; a new newest version becomes current (online rotation). */
  reload(): void;
}

/**
 * A master key provider over keys held in this process, read by `load` (from `GATEHOUSE_MASTER_KEY` or a key
 * file). `load` runs now and again on `reload()`, and on an unwrap with a version it does not know (another
 * process may have rotated and rewrapped), so a running gateway picks up a newly added key without a restart.
 * Keys live in `KeyObject`s (native memory, shown by `util.inspect` without bytes); the entries' buffers are
 * zero-filled once imported.
 */
export function createLocalMasterKeyProvider(load: () => MasterKeyEntry[], source: string): LocalMasterKeyProvider {
  let keys = new Map<number, KeyObject>();
  let current = 0;
  let lastReload = Number.NEGATIVE_INFINITY;

  function reload(): void {
    const entries = load();
    const next = new Map<number, KeyObject>();
    for (const entry of entries) {
      next.set(entry.version, createSecretKey(entry.key));
      entry.key.fill(0);
    }
    if (next.size === 0) throw new GatehouseError('master_key_missing', `${source}: no master key found`, { source });
    keys = next;
    current = Math.max(...next.keys());
  }

  function keyOf(version: number): KeyObject | undefined {
    if (!keys.has(version) && performance.now() - lastReload >= reloadIntervalMs) {
      lastReload = performance.now();
      try {
        reload();
      } catch {
        // A source that became unreadable or malformed keeps the keys already loaded; `reload()` reports it.
      }
    }
    return keys.get(version);
  }

  /** The key of a loaded version, for writing (wrap, derive): an unknown version is never looked for. */
  function loadedKey(version: number): KeyObject {
    const key = keys.get(version);
    if (key === undefined) {
      throw new GatehouseError('master_key_missing', `${source}: master key version ${version} is not loaded`, {
        source,
        masterKeyVersion: version,
      });
    }
    return key;
  }

  reload();

  return {
    source,
    reload,
    currentVersion: () => current,
    versions: () => [...keys.keys()].sort((a, b) => a - b),

    async wrap(version, dataKey, aad) {
      const { nonce, ciphertext, tag } = sealAesGcm(loadedKey(version), dataKey, aad);
      return Buffer.concat([Buffer.of(wrappedFormat), nonce, ciphertext, tag]);
    },

    async deriveKey(version, purpose) {
      const raw = loadedKey(version).export();
      try {
        return Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), purpose, 32));
      } finally {
        raw.fill(0);
      }
    },

    async unwrap(version, wrappedKey, aad) {
      const key = keyOf(version);
      if (key === undefined) {
        throw new GatehouseError(
          'decrypt_failed',
          `Cannot unwrap a data key: master key version ${version} is unknown`,
          {
            reason: 'unknown_master_key',
            masterKeyVersion: version,
          },
        );
      }
      const wrapped = Buffer.from(wrappedKey.buffer, wrappedKey.byteOffset, wrappedKey.byteLength);
      const plain =
        wrapped.length > 1 + nonceLength + tagLength && wrapped[0] === wrappedFormat
          ? openAesGcm(
              key,
              wrapped.subarray(1, 1 + nonceLength),
              wrapped.subarray(1 + nonceLength, wrapped.length - tagLength),
              wrapped.subarray(wrapped.length - tagLength),
              aad,
            )
          : undefined;
      if (plain === undefined) {
        throw new GatehouseError('decrypt_failed', `Cannot unwrap a data key with master key version ${version}`, {
          reason: 'authentication_failed',
          masterKeyVersion: version,
        });
      }
      return plain;
    },
  };
}
