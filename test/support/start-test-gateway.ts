import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuardedFetch } from '../../src/auth-server/index.ts';
import { createProviderExpander } from '../../src/catalog/index.ts';
import { type Config, parseConfig, parseTenantDocument, type TenantDocument } from '../../src/core/index.ts';
import type { Gateway } from '../../src/gateway/index.ts';
import type { TenantResourceRoutesOptions } from '../../src/http/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import { startGatehouse } from '../../src/wiring/index.ts';

export interface TestGateway {
  readonly url: string;
  readonly config: Config;
  readonly dataDir: string;
  readonly adapters: Awaited<ReturnType<typeof openAdapters>>;
  /** The gateway the server serves (its use cases, for arranging a test). */
  readonly gateway: Gateway;
  close(): Promise<void>;
}

/**
 * Starts the real gateway in this process on 127.0.0.1 port 0, over the same adapters main.ts opens (SQLite in
 * a temp folder unless `store` is given), with a fresh random master key.
 */
export async function startTestGateway(
  raw: Record<string, unknown>,
  options: {
    store?: string;
    /** Replaces parts of the opened adapters for the gateway (e.g. wraps the audit log); `adapters` stays unwrapped. */
    serveWith?: (adapters: Awaited<ReturnType<typeof openAdapters>>) => Awaited<ReturnType<typeof openAdapters>>;
    /** Extends the built gateway before it is served (e.g. an end-user surface). */
    extendGateway?: (gateway: Gateway) => Gateway;
    /** A fixed port (the public URL must be known before the server starts, e.g. for the OAuth issuer). */
    port?: number;
    /** The public URL when it is not the listen address (several processes behind one URL). */
    publicUrl?: string;
    /** Stored tenant documents for the admin API's resource routes (see `createMemoryTenantConfigs`). */
    tenantConfigs?: TenantResourceRoutesOptions;
    /** Environment for `${env:...}` in `raw` (default none). */
    env?: Record<string, string>;
    /**
     * Issue 14: reconcile the store to `raw.tenants` at start and follow the stored configurations live, checking
     * the revisions every `liveCheckMs` besides the store's notices.
     */
    live?: { liveCheckMs?: number };
    /** The fetch of Client ID Metadata Documents (a guarded fetch trusting a test CA). */
    clientMetadataFetch?: GuardedFetch;
  } = {},
): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const config = parseConfig(
    {
      listen: `127.0.0.1:${options.port ?? 0}`,
      ...(options.port === undefined ? {} : { publicUrl: options.publicUrl ?? `http://127.0.0.1:${options.port}` }),
      dataDir,
      logLevel: 'silent',
      masterKey: randomBytes(32).toString('base64'),
      ...(options.store ? { store: options.store } : {}),
      ...raw,
    },
    // The built-in provider catalogue, as the CLI passes it (`provider: slack` services).
    { env: options.env ?? {}, baseDir: process.cwd(), expandProvider: createProviderExpander() },
  );
  const stderr = { write: () => true } as unknown as NodeJS.WritableStream;
  const adapters = await openAdapters(config, { stderr });
  const server = await startGatehouse(config, options.serveWith?.(adapters) ?? adapters, undefined, {
    ...(options.extendGateway ? { extendGateway: options.extendGateway } : {}),
    ...(options.tenantConfigs ? { tenantConfigs: options.tenantConfigs } : {}),
    ...(options.live
      ? {
          tenantDocuments: (raw['tenants'] ?? []) as TenantDocument[],
          parseTenant: (document: TenantDocument) =>
            parseTenantDocument(document, {
              env: options.env ?? {},
              baseDir: process.cwd(),
              expandProvider: createProviderExpander(),
            }),
          ...(options.live.liveCheckMs === undefined ? {} : { tenantConfigCheckMs: options.live.liveCheckMs }),
        }
      : {}),
    ...(options.clientMetadataFetch ? { clientMetadataFetch: options.clientMetadataFetch } : {}),
  });
  return {
    url: server.url,
    config,
    dataDir,
    adapters,
    gateway: server.gateway,
    async close() {
      await server.close();
      await adapters.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
