/** Both drivers bind a Buffer as a blob/bytea; this is a view of the same bytes, not a copy. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
