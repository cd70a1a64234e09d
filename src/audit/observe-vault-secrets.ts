import type { SecretRegistry } from './create-secret-registry.ts';

/** The vault slice whose plaintexts are secrets. */
export interface SecretVault {
  encrypt(scope: never, plaintext: string): Promise<Uint8Array>;
  decrypt(scope: never, blob: Uint8Array): Promise<string>;
}

/**
 * Returns the vault with every plaintext it encrypts or decrypts (access and refresh tokens, client secrets,
 * static credentials, link keys) registered in `registry` before the caller sees it, so no log line written
 * afterwards can contain it. Rotating tokens age out of the registry's bounded LRU.
 */
export function observeVaultSecrets<V extends SecretVault>(vault: V, registry: SecretRegistry): V {
  return {
    ...vault,
    encrypt: (scope: never, plaintext: string) => {
      registry.register(plaintext);
      return vault.encrypt(scope, plaintext);
    },
    decrypt: async (scope: never, blob: Uint8Array) => {
      const plaintext = await vault.decrypt(scope, blob);
      registry.register(plaintext);
      return plaintext;
    },
  };
}
