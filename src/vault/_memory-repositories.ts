import type { DataKeyRecord, DataKeyRepository, SecretRecord, SecretRepository } from '../store/index.ts';

/**
 * Test support: in-memory `DataKeyRepository` and `SecretRepository` with the port's semantics (insert reports a
 * lost race with false; every method filters by tenant). Records are copied in and out, as a database would.
 * Not for production use: nothing is persisted.
 */
export function createMemoryRepositories(): { dataKeys: DataKeyRepository; secrets: SecretRepository } {
  const dataKeyRows = new Map<string, DataKeyRecord>();
  const secretRows = new Map<string, SecretRecord>();
  const dataKeyId = (tenantId: string, version: number) => `${tenantId}\u0000${version}`;
  const secretId = (tenantId: string, owner: string, field: string) => `${tenantId}\u0000${owner}\u0000${field}`;
  const copyDataKey = (record: DataKeyRecord): DataKeyRecord => ({
    ...record,
    wrappedKey: Uint8Array.from(record.wrappedKey),
  });
  const copySecret = (record: SecretRecord): SecretRecord => ({
    ...record,
    ciphertext: Uint8Array.from(record.ciphertext),
  });
  // Each call yields once, like a real driver, so interleavings between concurrent callers happen in tests.
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

  const dataKeys: DataKeyRepository = {
    async insert(record) {
      await tick();
      const id = dataKeyId(record.tenantId, record.version);
      if (dataKeyRows.has(id)) return false;
      dataKeyRows.set(id, copyDataKey(record));
      return true;
    },
    async list(tenantId) {
      await tick();
      return [...dataKeyRows.values()]
        .filter((row) => row.tenantId === tenantId)
        .sort((a, b) => a.version - b.version)
        .map(copyDataKey);
    },
    async rewrap(tenantId, version, masterKeyVersion, wrappedKey) {
      await tick();
      const id = dataKeyId(tenantId, version);
      const row = dataKeyRows.get(id);
      if (row !== undefined) dataKeyRows.set(id, copyDataKey({ ...row, masterKeyVersion, wrappedKey }));
    },
    async deleteTenant(tenantId) {
      await tick();
      for (const [id, row] of dataKeyRows) if (row.tenantId === tenantId) dataKeyRows.delete(id);
    },
  };

  const secrets: SecretRepository = {
    async put(record) {
      await tick();
      secretRows.set(secretId(record.tenantId, record.owner, record.field), copySecret(record));
    },
    async putIfAbsent(record) {
      await tick();
      const id = secretId(record.tenantId, record.owner, record.field);
      if (!secretRows.has(id)) secretRows.set(id, copySecret(record));
      return copySecret(secretRows.get(id) as SecretRecord);
    },
    async replaceIfUnchanged(record, previous) {
      await tick();
      const id = secretId(record.tenantId, record.owner, record.field);
      const row = secretRows.get(id);
      if (row === undefined || Buffer.from(row.ciphertext).equals(previous)) secretRows.set(id, copySecret(record));
      return copySecret(secretRows.get(id) as SecretRecord);
    },
    async get(tenantId, owner, field) {
      await tick();
      const row = secretRows.get(secretId(tenantId, owner, field));
      return row === undefined ? undefined : copySecret(row);
    },
    async listByOwner(tenantId, owner) {
      await tick();
      return [...secretRows.values()].filter((r) => r.tenantId === tenantId && r.owner === owner).map(copySecret);
    },
    async deleteByOwner(tenantId, owner) {
      await tick();
      for (const [id, row] of secretRows) if (row.tenantId === tenantId && row.owner === owner) secretRows.delete(id);
    },
  };

  return { dataKeys, secrets };
}
