/**
 * The master key behind the vault's envelope encryption. The vault never sees master key bytes: it hands a
 * provider a data key to wrap and gets wrapped bytes back, so a KMS adapter (AWS KMS, GCP KMS, Vault transit) can
 * implement this interface with remote calls while the local provider (`createLocalMasterKeyProvider`) does
 * AES-256-GCM in process.
 *
 * Contract:
 * - Versions are positive integers. `currentVersion()` is the version new and rewrapped data keys use (the
 *   newest); it may change while the process runs (online rotation).
 * - `wrap(version, dataKey, aad)` encrypts and authenticates `dataKey` under master key `version`, binding `aad`.
 * - `unwrap(version, wrappedKey, aad)` reverses it. It throws `GatehouseError('decrypt_failed')` with
 *   `details.reason` `'unknown_master_key'` or `'authentication_failed'` when it cannot, and never puts key
 *   material in an error. The returned buffer belongs to the caller, which zero-fills it after use.
 */
export interface MasterKeyProvider {
  /** Where the keys come from (an env var name, a file path, a KMS key id), for messages; never key material. */
  readonly source?: string;
  currentVersion(): number;
  /** Every version the provider can unwrap with, ascending. */
  versions(): readonly number[];
  wrap(version: number, dataKey: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  unwrap(version: number, wrappedKey: Uint8Array, aad: Uint8Array): Promise<Buffer>;
  /**
   * A 32-byte key for `purpose` derived from master key `version`: the same bytes in every process holding that
   * version, unrelated to the key of another purpose or version, and the master key cannot be computed from it.
   * `purpose` names what the key is for and its format version (`gatehouse operator session v1`). The local
   * provider uses HKDF-SHA256 (RFC 5869: the master key as input keying material, no salt, `purpose` as info); a
   * KMS adapter uses its derivation or MAC operation. Throws `master_key_missing` for a version not loaded. For
   * keys every process must agree on without storing a secret (signed cookies); the caller zero-fills the buffer.
   */
  deriveKey(version: number, purpose: string): Promise<Buffer>;
}

/** One version of a master key as read from a config value or key file: exactly 32 bytes. */
export interface MasterKeyEntry {
  readonly version: number;
  readonly key: Buffer;
}
