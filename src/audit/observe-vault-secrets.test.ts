import { describe, expect, it } from 'vitest';
import { createSecretRegistry } from './create-secret-registry.ts';
import { observeVaultSecrets } from './observe-vault-secrets.ts';

describe('observeVaultSecrets', () => {
  it('registers every plaintext the vault encrypts or decrypts before the caller sees it', async () => {
    const registry = createSecretRegistry();
    const stored = new Map<string, string>();
    const vault = observeVaultSecrets(
      {
        encrypt: async (_scope: never, plaintext: string) => {
          stored.set('k', plaintext);
          return new Uint8Array([1]);
        },
        decrypt: async (_scope: never, _blob: Uint8Array) => 'refreshed-access-token-123456',
        rewrapDataKeys: () => 'kept',
      },
      registry,
    );
    await vault.encrypt({} as never, 'stored-refresh-token-987654');
    expect(registry.scrub('a stored-refresh-token-987654 b')).toBe('a [REDACTED] b');
    expect(await vault.decrypt({} as never, new Uint8Array())).toBe('refreshed-access-token-123456');
    expect(registry.scrub('refreshed-access-token-123456')).toBe('[REDACTED]');
    expect(vault.rewrapDataKeys()).toBe('kept');
    expect(stored.get('k')).toBe('stored-refresh-token-987654');
  });
});
