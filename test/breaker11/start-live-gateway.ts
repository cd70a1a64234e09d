import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProviderExpander } from '../../src/catalog/index.ts';
import { parseConfig, parseTenantDocument, type TenantDocument } from '../../src/core/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import { startGatehouse } from '../../src/wiring/index.ts';

/**
 * A gateway as `gatehouse serve` starts it: the config's `${env:...}` and every stored tenant document parsed with
 * the same environment and the built-in provider catalogue, following its stored configurations live (SQLite in a
 * temp folder), on 127.0.0.1 port 0.
 */
export async function startLiveGateway(raw: Record<string, unknown>, env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-breaker11-'));
  const parseOptions = { env, baseDir: process.cwd(), expandProvider: createProviderExpander() };
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      dataDir,
      logLevel: 'silent',
      masterKey: randomBytes(32).toString('base64'),
      ...raw,
    },
    parseOptions,
  );
  const adapters = await openAdapters(config, { stderr: { write: () => true } as unknown as NodeJS.WritableStream });
  const server = await startGatehouse(config, adapters, undefined, {
    tenantDocuments: (raw['tenants'] ?? []) as TenantDocument[],
    parseTenant: (document: TenantDocument) => parseTenantDocument(document, parseOptions),
    tenantConfigCheckMs: 200,
  });
  return {
    url: server.url,
    async close() {
      await server.close();
      await adapters.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
