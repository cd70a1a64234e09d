import { nonceLength, tagLength } from './_aes-gcm.ts';

/**
 * Secret envelope (the bytes stored in `SecretRecord.ciphertext`), all integers big-endian:
 *
 *   offset 0   1 byte    magic 0x47 ('G')
 *   offset 1   1 byte    format version 0x01
 *   offset 2   4 bytes   data key version (uint32)
 *   offset 6   12 bytes  nonce (fresh random per encryption)
 *   offset 18  n bytes   AES-256-GCM ciphertext (n = UTF-8 length of the plaintext)
 *   end - 16   16 bytes  GCM tag
 *
 * Associated data = the 6 header bytes, then tenant id, owner and field, each as a uint32 byte length followed
 * by its UTF-8 bytes. Length prefixes make the encoding injective (`a|bc` and `ab|c` differ), so a blob moved
 * to another tenant, owner or field, or relabelled with another key version, fails authentication (ST-04).
 */
export const envelopeMagic = 0x47;
export const envelopeFormat = 0x01;
export const headerLength = 6;
export const envelopeOverhead = headerLength + nonceLength + tagLength;

export interface EnvelopeParts {
  readonly header: Buffer;
  readonly dataKeyVersion: number;
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

export function encodeHeader(dataKeyVersion: number): Buffer {
  const header = Buffer.allocUnsafe(headerLength);
  header[0] = envelopeMagic;
  header[1] = envelopeFormat;
  header.writeUInt32BE(dataKeyVersion, 2);
  return header;
}

/** Splits a blob into its parts; undefined when it is too short or has an unknown magic or format. */
export function decodeEnvelope(blob: Uint8Array): EnvelopeParts | undefined {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < envelopeOverhead || bytes[0] !== envelopeMagic || bytes[1] !== envelopeFormat) return undefined;
  return {
    header: bytes.subarray(0, headerLength),
    dataKeyVersion: bytes.readUInt32BE(2),
    nonce: bytes.subarray(headerLength, headerLength + nonceLength),
    ciphertext: bytes.subarray(headerLength + nonceLength, bytes.length - tagLength),
    tag: bytes.subarray(bytes.length - tagLength),
  };
}

/**
 * Associated data of a wrapped data key: 'K' 0x01, data key version and master key version (uint32 each), then
 * the tenant id length-prefixed. It never equals an envelope's associated data (which starts with 'G').
 */
export function encodeDataKeyAad(tenantId: string, dataKeyVersion: number, masterKeyVersion: number): Buffer {
  const prefix = Buffer.alloc(10);
  prefix[0] = 0x4b;
  prefix[1] = 0x01;
  prefix.writeUInt32BE(dataKeyVersion, 2);
  prefix.writeUInt32BE(masterKeyVersion, 6);
  return encodeAad(prefix, tenantId);
}

/** Concatenates `prefix` and each string as uint32 length + UTF-8 bytes. */
export function encodeAad(prefix: Uint8Array, ...fields: readonly string[]): Buffer {
  let length = prefix.length;
  for (const field of fields) length += 4 + Buffer.byteLength(field, 'utf8');
  const aad = Buffer.allocUnsafe(length);
  aad.set(prefix, 0);
  let offset = prefix.length;
  for (const field of fields) {
    const written = aad.write(field, offset + 4, 'utf8');
    aad.writeUInt32BE(written, offset);
    offset += 4 + written;
  }
  return aad;
}
