import type { Adapters } from './cli/index.ts';
import { type Config, systemClock } from './core/index.ts';
import { openStore } from './store/index.ts';
import { createUpstreamClient } from './upstream/index.ts';
import { createVault, loadMasterKeys } from './vault/index.ts';

/**
 * Picks and opens the concrete adapters for a config: the store named by `store` (migrated), the master keys,
 * the vault over the store, and the pooled upstream client. main.ts and the end-to-end tests use this one
 * function, so tests run the same graph as production.
 */
export async function openAdapters(
  config: Config,
  context: { readonly stderr: NodeJS.WritableStream },
): Promise<Adapters> {
  const warn = (message: string) => context.stderr.write(`gatehouse: warning: ${message}\n`);
  if (config.unsafeAllowPrivateUpstreams.length > 0) {
    warn(
      `private-network upstreams allowed for: ${config.unsafeAllowPrivateUpstreams.join(', ')} (unsafeAllowPrivateUpstreams)`,
    );
  }
  const masterKeys = loadMasterKeys({
    mode: config.mode,
    masterKey: config.masterKey,
    masterKeyFile: config.masterKeyFile,
    dataDir: config.dataDir,
    warn,
  });
  const store = await openStore(config.store);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  const vault = createVault({ dataKeys: store.dataKeys, masterKeys, clock: systemClock });
  const upstream = createUpstreamClient({ allowPrivateHosts: config.unsafeAllowPrivateUpstreams });
  return {
    store,
    vault,
    upstream,
    async close() {
      await upstream.close();
      await store.close();
    },
  };
}
