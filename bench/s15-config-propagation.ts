/**
 * S15 (BENCHMARKS.md): a tenant configuration change, written through one gateway, seen by three. Three gateways
 * share one PostgreSQL store (each its own pool and LISTEN connection, and its own revision watcher, as separate
 * processes would have; they share this process's event loop, which only adds to the figure). Each of `changes`
 * writes toggles one tool out of (or back into) a toolset through gateway A's `tenantConfigs`; the figure is the
 * time until all three serve the new tool count, p50 and p99. Target: p99 <= 2 s.
 *
 *   GATEHOUSE_TEST_POSTGRES=postgres://... npx tsx bench/s15-config-propagation.ts [--changes 100]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig, parseTenantDocument, systemClock, type TenantDocument } from '../src/core/index.ts';
import { createGateway, type Gateway, type TenantConfigWatch, watchTenantConfigs } from '../src/gateway/index.ts';
import { openAdapters } from '../src/open-adapters.ts';
import { createTestSchemaName, withStoreSchema } from '../src/store/index.ts';
import { percentile } from './percentile.ts';

const description = join(import.meta.dirname, '..', 'test', 'fixtures', 'fake-api.openapi.yaml');

export type S15Result =
  | { readonly skipped: string }
  | { readonly changes: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };

export async function runS15(changes = 100): Promise<S15Result> {
  const postgresUrl = process.env['GATEHOUSE_BENCH_POSTGRES'] ?? process.env['GATEHOUSE_TEST_POSTGRES'];
  if (postgresUrl === undefined) return { skipped: 'set GATEHOUSE_BENCH_POSTGRES (or GATEHOUSE_TEST_POSTGRES)' };
  const store = withStoreSchema(postgresUrl, createTestSchemaName());
  const masterKey = randomBytes(32).toString('base64');
  const tenant = {
    id: 'acme',
    services: [{ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9' }],
    toolsets: [{ id: 'reader', tools: ['fake_*'], discovery: { mode: 'never' } }],
  } as TenantDocument;
  const dirs: string[] = [];
  const running: { gateway: Gateway; watch: TenantConfigWatch; close: () => Promise<void> }[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-s15-'));
      dirs.push(dataDir);
      const config = parseConfig(
        {
          store,
          dataDir,
          masterKey,
          logLevel: 'silent',
          unsafeAllowPrivateUpstreams: ['127.0.0.1'],
          tenants: [tenant],
        },
        { env: {} },
      );
      const adapters = await openAdapters(config, {
        stderr: { write: () => true } as unknown as NodeJS.WritableStream,
      });
      const gateway = await createGateway({ config, ...adapters, clock: systemClock });
      const live = gateway.live as NonNullable<Gateway['live']>;
      if (i === 0) await gateway.tenantConfigs?.write('acme', tenant, { expectedRevision: null, actor: 'bench' });
      const watch = await watchTenantConfigs({
        store: adapters.store,
        parse: (document) => parseTenantDocument(document, { env: {} }),
        known: new Map([['acme', 1]]),
        onChange: (t) => live.replaceTenant(t),
        onRemove: (id) => live.removeTenant(id),
        onError: () => {},
      });
      running.push({
        gateway,
        watch,
        close: async () => {
          await watch.stop();
          await gateway.close?.();
          await adapters.close();
        },
      });
    }
    const toolCount = async (gateway: Gateway) =>
      (await gateway.admin.listTenants()).find((t) => t.id === 'acme')?.toolsets[0]?.tools ?? -1;
    const full = await toolCount(running[0]?.gateway as Gateway);
    const seen: number[] = [];
    for (let n = 1; n <= changes; n++) {
      const excluded = n % 2 === 1;
      const document = {
        ...tenant,
        toolsets: [{ ...tenant.toolsets?.[0], exclude: excluded ? ['fake_listItems'] : [] }],
      } as TenantDocument;
      const expected = excluded ? full - 1 : full;
      const started = performance.now();
      await running[0]?.gateway.tenantConfigs?.write('acme', document, { expectedRevision: n, actor: 'bench' });
      await Promise.all(
        running.map(async ({ gateway }) => {
          while ((await toolCount(gateway)) !== expected) {
            if (performance.now() - started > 30_000) throw new Error('S15: a change was not seen within 30 s');
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
        }),
      );
      seen.push(performance.now() - started);
    }
    const sorted = [...seen].sort((a, b) => a - b);
    return {
      changes,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1) ?? Number.NaN,
    };
  } finally {
    for (const r of running) await r.close().catch(() => undefined);
    const schema = new URL(store).searchParams.get('schema');
    if (schema !== null) {
      const { openStore } = await import('../src/store/index.ts');
      await (await openStore(postgresUrl, { schema, dropSchemaOnClose: true })).close().catch(() => undefined);
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { changes: { type: 'string', default: '100' } } });
  const result = await runS15(Number(values.changes));
  if ('skipped' in result) console.log(`S15 skipped: ${result.skipped}`);
  else
    console.log(
      `S15 config change seen by 3 gateways: p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, max ${result.maxMs.toFixed(1)} ms over ${result.changes} changes (target p99 <= 2000 ms)`,
    );
}
