import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';

/** AES-256-GCM with a 96-bit nonce and a 128-bit tag, the only cipher of the vault. */
export const nonceLength = 12;
export const tagLength = 16;

/** Encrypts with a fresh random nonce. Returns the three parts so each caller lays out its own format. */
export function sealAesGcm(
  key: KeyObject,
  plaintext: Uint8Array,
  aad: Uint8Array,
): { nonce: Buffer; ciphertext: Buffer; tag: Buffer } {
  const nonce = randomBytes(nonceLength);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: tagLength });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

/** Decrypts and authenticates; returns undefined on any failure (wrong key, AAD, nonce, ciphertext or tag). */
export function openAesGcm(
  key: KeyObject,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
): Buffer | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: tagLength });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}
