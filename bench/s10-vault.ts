/**
 * S10 (BENCHMARKS.md), vault half: time per `vault.decrypt()` with a warm data key cache, target <= 20 us, and
 * no key derivation or store read on the request path (counted: both must be 0 during the measured loop).
 * Each round decrypts a typical access token (~40 bytes) `--iterations` times (default 100,000), awaiting every
 * call as the gateway does; the median of `--rounds` (default 5) is the figure. Interleaved with a baseline of a
 * bare AES-256-GCM decryption (node:crypto, same sizes, no vault), because this machine is shared and noisy.
 * Encryption is measured too, for context.
 *
 *   npx tsx bench/s10-vault.ts [--iterations 100000] [--rounds 5]
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/index.ts';
import type { DataKeyRepository } from '../src/store/index.ts';
import { createMemoryRepositories } from '../src/vault/_memory-repositories.ts';
import { createLocalMasterKeyProvider, createVault, type MasterKeyProvider } from '../src/vault/index.ts';
import { median } from './percentile.ts';

const targetUs = 20;
const { values: args } = parseArgs({
  options: { iterations: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' } },
});
const iterations = Number(args.iterations);
const rounds = Number(args.rounds);

const { dataKeys } = createMemoryRepositories();
let storeReads = 0;
let unwraps = 0;
const countingKeys: DataKeyRepository = {
  ...dataKeys,
  list: (tenantId) => {
    storeReads++;
    return dataKeys.list(tenantId);
  },
};
const local = createLocalMasterKeyProvider(() => [{ version: 1, key: randomBytes(32) }], 'bench');
const masterKeys: MasterKeyProvider = {
  ...local,
  unwrap: (...unwrapArgs) => {
    unwraps++;
    return local.unwrap(...unwrapArgs);
  },
};
const vault = createVault({ dataKeys: countingKeys, masterKeys, clock: systemClock });
const scope = { tenantId: 'acme', owner: 'connection:01J9Z8', field: 'access_token' };
const token = `gho_${randomBytes(27).toString('base64url')}`;
const blob = await vault.encrypt(scope, token);
await vault.decrypt(scope, blob);

const bareKey = randomBytes(32);
const bareNonce = randomBytes(12);
const bareAad = randomBytes(6 + 12 + scope.tenantId.length + scope.owner.length + scope.field.length);
const bareCipher = createCipheriv('aes-256-gcm', bareKey, bareNonce);
bareCipher.setAAD(bareAad);
const bareCiphertext = Buffer.concat([bareCipher.update(token, 'utf8'), bareCipher.final()]);
const bareTag = bareCipher.getAuthTag();

async function timeDecrypt(): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    if ((await vault.decrypt(scope, blob)).length !== token.length) throw new Error('wrong plaintext');
  }
  return Number(process.hrtime.bigint() - start) / iterations / 1000;
}

async function timeEncrypt(): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await vault.encrypt(scope, token);
  return Number(process.hrtime.bigint() - start) / iterations / 1000;
}

async function timeBareDecrypt(): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const decipher = createDecipheriv('aes-256-gcm', bareKey, bareNonce);
    decipher.setAAD(bareAad);
    decipher.setAuthTag(bareTag);
    const plain = Buffer.concat([decipher.update(bareCiphertext), decipher.final()]).toString('utf8');
    if ((await plain).length !== token.length) throw new Error('wrong plaintext');
  }
  return Number(process.hrtime.bigint() - start) / iterations / 1000;
}

const decrypts: number[] = [];
const encrypts: number[] = [];
const bare: number[] = [];
storeReads = 0;
unwraps = 0;
for (let round = 0; round < rounds; round++) {
  decrypts.push(await timeDecrypt());
  bare.push(await timeBareDecrypt());
  encrypts.push(await timeEncrypt());
}
const decryptUs = median(decrypts);
const bareUs = median(bare);
const pass = decryptUs <= targetUs && storeReads === 0 && unwraps === 0;
console.log(
  `S10 vault decrypt (warm cache): ${decryptUs.toFixed(2)} us/call (rounds ${decrypts.map((d) => d.toFixed(2)).join('/')}, ` +
    `${iterations} calls each), bare AES-GCM ${bareUs.toFixed(2)} us (ratio ${(decryptUs / bareUs).toFixed(2)}), ` +
    `encrypt ${median(encrypts).toFixed(2)} us; store reads ${storeReads}, unwraps ${unwraps} during the loop; ` +
    `target <= ${targetUs} us: ${pass ? 'pass' : 'FAIL'}`,
);
