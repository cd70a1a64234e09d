import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.ts';
import { isGatehouseError, parseConfig } from '../../src/core/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';

function capture() {
  let text = '';
  return {
    stream: {
      write(chunk: string) {
        text += chunk;
        return true;
      },
    } as unknown as Writable,
    text: () => text,
  };
}

describe('gatehouse vault rotate / rewrap', () => {
  it('adds a master key version, rewraps every data key to it, and old secrets still decrypt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-vault-'));
    const keyFile = join(dir, 'master.key');
    writeFileSync(keyFile, `1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const configFile = join(dir, 'gatehouse.yaml');
    writeFileSync(configFile, `dataDir: ${dir}\nmasterKeyFile: ${keyFile}\ntenants:\n  - id: acme\n  - id: beta\n`);
    const config = parseConfig(
      { dataDir: dir, masterKeyFile: keyFile, tenants: [{ id: 'acme' }, { id: 'beta' }] },
      { env: {}, baseDir: dir },
    );
    const quiet = capture().stream;
    const before = await openAdapters(config, { stderr: quiet });
    const scopes = ['acme', 'beta'].map((tenantId) => ({ tenantId, owner: 'service:x', field: 'credential' }));
    const blobs = await Promise.all(scopes.map((scope) => before.vault.encrypt(scope, `secret of ${scope.tenantId}`)));
    await before.store.tenants.ensure('acme', Date.now());
    await before.close();

    const out = capture();
    const context = {
      env: {},
      stdout: out.stream,
      stderr: quiet,
      openAdapters,
      stopSignal: new Promise<void>(() => {}),
    };
    expect(await runCli(['vault', 'rotate', '--config', configFile], context)).toBe(0);
    expect(out.text()).toContain('version 2');
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^1:.+\n2:.+\n$/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    expect(await runCli(['vault', 'rewrap', '--config', configFile], context)).toBe(0);
    expect(out.text()).toMatch(/Rewrapped 2 data key\(s\) to master key version 2/);
    expect(out.text()).toContain('can be retired');

    const after = await openAdapters(config, { stderr: quiet });
    try {
      const rows = await Promise.all(['acme', 'beta'].map((t) => after.store.dataKeys.list(t)));
      expect(rows.flat().map((r) => r.masterKeyVersion)).toEqual([2, 2]);
      const plain = await Promise.all(scopes.map((scope, i) => after.vault.decrypt(scope, blobs[i]!)));
      expect(plain).toEqual(['secret of acme', 'secret of beta']);
    } finally {
      await after.close();
    }
    // Running rewrap again is a no-op that still reports success (resumable).
    expect(await runCli(['vault', 'rewrap', '--config', configFile], context)).toBe(0);
  });

  it('refuses to rotate a master key that comes from the environment, naming what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-vault-'));
    const err = capture();
    const context = {
      env: { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'), GATEHOUSE_DATA_DIR: dir },
      stdout: capture().stream,
      stderr: err.stream,
      openAdapters,
      stopSignal: new Promise<void>(() => {}),
    };
    expect(await runCli(['vault', 'rotate'], context)).toBe(2);
    expect(err.text()).toContain('GATEHOUSE_MASTER_KEY');
    expect(err.text()).not.toContain(context.env.GATEHOUSE_MASTER_KEY);
  });

  it('across two processes on one store: a running one reads a new version from its key file, one without it fails closed until it has it', async () => {
    // docs/operations.md "Rotating the master key", across a fleet. Two sets of adapters on one store stand for two
    // processes: `a` is restarted after the rotation; `shared` reads the same key file and is not restarted; `left`
    // has a key file of its own that lacks the new version.
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-vault-fleet-'));
    const keyFile = join(dir, 'master.key');
    const leftKeyFile = join(dir, 'left.key');
    writeFileSync(keyFile, `1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    copyFileSync(keyFile, leftKeyFile);
    const configFile = join(dir, 'gatehouse.yaml');
    writeFileSync(configFile, `dataDir: ${dir}\nmasterKeyFile: ${keyFile}\ntenants: []\n`);
    const configWith = (file: string) => parseConfig({ dataDir: dir, masterKeyFile: file }, { env: {}, baseDir: dir });
    const quiet = capture().stream;
    const shared = await openAdapters(configWith(keyFile), { stderr: quiet });
    const left = await openAdapters(configWith(leftKeyFile), { stderr: quiet });
    try {
      const context = { env: {}, stdout: quiet, stderr: quiet, openAdapters, stopSignal: new Promise<void>(() => {}) };
      expect(await runCli(['vault', 'rotate', '--config', configFile], context)).toBe(0);
      const a = await openAdapters(configWith(keyFile), { stderr: quiet });
      const scope = { tenantId: 'globex', owner: 'service:x', field: 'credential' };
      let blob: Awaited<ReturnType<typeof a.vault.encrypt>>;
      try {
        blob = await a.vault.encrypt(scope, 'secret of globex');
      } finally {
        await a.close();
      }
      expect((await shared.store.dataKeys.list('globex')).map((r) => r.masterKeyVersion)).toEqual([2]);

      expect(await shared.vault.decrypt(scope, blob)).toBe('secret of globex');
      const refused = await left.vault.decrypt(scope, blob).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isGatehouseError(refused) && refused.code).toBe('decrypt_failed');
      // Given the new version, it decrypts without a restart (unknown versions re-read the file, at most once a second).
      copyFileSync(keyFile, leftKeyFile);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await left.vault.decrypt(scope, blob)).toBe('secret of globex');
    } finally {
      await shared.close();
      await left.close();
    }
  });
});
