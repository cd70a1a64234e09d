import type { ServiceAuthConfig } from '../core/index.ts';
import { GatehouseError } from '../core/index.ts';
import type { Store } from '../store/index.ts';
import type { UpstreamCredential } from '../upstream/index.ts';
import type { Vault } from '../vault/index.ts';

/** The secret part of a static service credential, as stored (encrypted) in the vault. */
const secretField = 'credential';

function ownerOf(service: string): string {
  return `service:${service}`;
}

function secretOf(auth: ServiceAuthConfig): string | undefined {
  switch (auth.type) {
    case 'apiKey':
      return auth.value;
    case 'bearer':
      return auth.token;
    case 'basic':
      return auth.password;
    default:
      return undefined;
  }
}

/**
 * Static service credentials: written to the store encrypted at start, read and decrypted per call by
 * `resolveCredential`, the one function that produces the credential of an upstream call. Ciphertexts are
 * cached in memory (never plaintext), so a call costs one AES-GCM decryption and no store read.
 */
export function createCredentials(store: Store, vault: Vault) {
  const ciphertexts = new Map<string, Uint8Array>();
  const key = (tenant: string, service: string) => `${tenant}\u0000${service}`;

  return {
    /** Encrypts a service's configured secret into the store (replacing an older one). */
    async storeStaticSecret(tenant: string, service: string, auth: ServiceAuthConfig, at: number): Promise<void> {
      const secret = secretOf(auth);
      const owner = ownerOf(service);
      if (secret === undefined) {
        await store.secrets.deleteByOwner(tenant, owner);
        ciphertexts.delete(key(tenant, service));
        return;
      }
      const ciphertext = await vault.encrypt({ tenantId: tenant, owner, field: secretField }, secret);
      await store.secrets.put({ tenantId: tenant, owner, field: secretField, ciphertext, updatedAt: at });
      ciphertexts.set(key(tenant, service), ciphertext);
    },

    /** The credential to inject into a call to `service` on behalf of `tenant`. */
    async resolveCredential(tenant: string, service: string, auth: ServiceAuthConfig): Promise<UpstreamCredential> {
      if (auth.type === 'none') return { type: 'none' };
      if (auth.type === 'oauth2') {
        throw new GatehouseError(
          'connection_required',
          `Service ${service} needs an OAuth connection, which is not available yet`,
          {
            service,
          },
        );
      }
      let ciphertext = ciphertexts.get(key(tenant, service));
      if (ciphertext === undefined) {
        ciphertext = (await store.secrets.get(tenant, ownerOf(service), secretField))?.ciphertext;
        if (ciphertext === undefined) {
          throw new GatehouseError('credential_unavailable', `No stored credential for service ${service}`, {
            service,
          });
        }
        ciphertexts.set(key(tenant, service), ciphertext);
      }
      const secret = await vault.decrypt({ tenantId: tenant, owner: ownerOf(service), field: secretField }, ciphertext);
      switch (auth.type) {
        case 'apiKey':
          return { type: 'apiKey', in: auth.in, name: auth.name, value: secret };
        case 'bearer':
          return { type: 'bearer', token: secret };
        case 'basic':
          return { type: 'basic', username: auth.username, password: secret };
      }
    },
  };
}

export type Credentials = ReturnType<typeof createCredentials>;
