export { createLocalMasterKeyProvider, type LocalMasterKeyProvider } from './create-local-master-key-provider.ts';
export {
  createVault,
  type DecryptFailureReason,
  type DerivedKeys,
  type MasterKeyCheck,
  type RewrapReport,
  type StaleDataKey,
  type Vault,
  type VaultDependencies,
  type VaultScope,
  type VaultSecurityEvent,
} from './create-vault.ts';
export { developmentKeyFileName, type LoadMasterKeysOptions, loadMasterKeys } from './load-master-keys.ts';
export type { MasterKeyEntry, MasterKeyProvider } from './master-key-provider.ts';
export { parseMasterKeys } from './parse-master-keys.ts';
export { type ReadMasterKeyFileOptions, readMasterKeyFile } from './read-master-key-file.ts';
