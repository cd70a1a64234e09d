/**
 * S15 (BENCHMARKS.md): a tenant configuration change, written through one gateway's admin API, seen by three.
 * Three `gatehouse serve` processes (the product as it ships, see `productEntry`) share one PostgreSQL store, each
 * with its own pool, LISTEN connection and revision watcher. Each of `changes` writes toggles one tool out of (or
 * back into) a toolset with `PUT /api/v1/tenants/acme/toolsets/reader` on process A (`If-Match`, as an operator's
 * script would); the figure is the time from sending the write until all three answer `tools/list` with the new
 * tool count, p50 and p99. Target: p99 <= 2 s.
 *
 *   GATEHOUSE_TEST_POSTGRES=postgres://... npx tsx bench/s15-config-propagation.ts [--changes 100]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { createTestSchemaName, openStore, withStoreSchema } from '../src/store/index.ts';
import { findFreePort } from './find-free-port.ts';
import { createClientKey, productEntry, summarizeOutput, waitForHealth } from './gatehouse-target.ts';
import { percentile } from './percentile.ts';
import { type ChildHandle, spawnChild } from './spawn-child.ts';

export type S15Result =
  | { readonly skipped: string }
  | {
      readonly changes: number;
      readonly processes: number;
      readonly p50Ms: number;
      readonly p99Ms: number;
      readonly maxMs: number;
    };

const processes = 3;
const toolset = { id: 'reader', tools: ['fake_*'], discovery: { mode: 'never' } };

export async function runS15(
  changes = 100,
  repoRoot = fileURLToPath(new URL('..', import.meta.url)),
): Promise<S15Result> {
  const postgresUrl = process.env['GATEHOUSE_BENCH_POSTGRES'] ?? process.env['GATEHOUSE_TEST_POSTGRES'];
  if (postgresUrl === undefined) return { skipped: 'set GATEHOUSE_BENCH_POSTGRES (or GATEHOUSE_TEST_POSTGRES)' };
  const schema = createTestSchemaName();
  const store = withStoreSchema(postgresUrl, schema);
  const adminToken = randomBytes(24).toString('base64url');
  const clientKey = createClientKey();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
    S15_CLIENT_KEY: clientKey,
  };
  const dirs: string[] = [];
  const children: ChildHandle[] = [];
  try {
    const entry = await productEntry(repoRoot);
    const start = async (): Promise<string> => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-s15-'));
      dirs.push(dir);
      const port = await findFreePort();
      const origin = `http://127.0.0.1:${port}`;
      const configPath = join(dir, 'gatehouse.yaml');
      const config = {
        listen: `127.0.0.1:${port}`,
        publicUrl: origin,
        adminToken,
        store,
        dataDir: dir,
        logLevel: 'warn',
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        tenants: [
          {
            id: 'acme',
            services: [
              {
                id: 'fake',
                openapi: join(repoRoot, 'test/fixtures/fake-api.openapi.yaml'),
                baseUrl: 'http://127.0.0.1:9',
              },
            ],
            toolsets: [toolset],
            // A reference, not the value: a tenant whose secrets are values is not stored, so not live.
            clientKeys: [{ name: 's15', key: '${env:S15_CLIENT_KEY}', toolsets: ['reader'] }],
          },
        ],
      };
      writeFileSync(configPath, stringify(config), { mode: 0o600 });
      const child = spawnChild('gatehouse-s15', process.execPath, [entry.path, 'serve', '--config', configPath], {
        env,
        cwd: repoRoot,
      });
      children.push(child);
      // Start-up is not what S15 measures: a loaded machine may take a while.
      const ready = await waitForHealth(origin, () => child.process.exitCode !== null, 120_000);
      if (ready !== true) throw new Error(`S15: ${ready}: ${summarizeOutput(child.stderrTail())}`);
      return origin;
    };
    // One after another: the first migrates the schema and stores the tenant.
    const origins: string[] = [];
    for (let i = 0; i < processes; i++) origins.push(await start());
    const first = origins[0] as string;

    const toolCount = async (origin: string): Promise<number> => {
      const res = await fetch(`${origin}/mcp/acme/reader`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${clientKey}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      const body = (await res.json()) as { result?: { tools?: unknown[] } };
      return body.result?.tools?.length ?? -1;
    };
    const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const toolsetUrl = `${first}/api/v1/tenants/acme/toolsets/reader`;
    const current = await fetch(toolsetUrl, { headers: admin });
    await current.arrayBuffer();
    let etag = current.headers.get('etag');
    if (current.status !== 200 || etag === null) throw new Error(`S15: GET ${toolsetUrl} answered ${current.status}`);
    const full = await toolCount(first);
    if (full < 2) throw new Error(`S15: the toolset lists ${full} tools; expected the fake API's`);

    const seen: number[] = [];
    for (let n = 1; n <= changes; n++) {
      const excluded = n % 2 === 1;
      const expected = excluded ? full - 1 : full;
      const started = performance.now();
      const written = await fetch(toolsetUrl, {
        method: 'PUT',
        headers: { ...admin, 'if-match': etag },
        body: JSON.stringify({ ...toolset, exclude: excluded ? ['fake_listItems'] : [] }),
      });
      const problem = await written.text();
      etag = written.headers.get('etag');
      if (written.status !== 200 || etag === null) throw new Error(`S15: PUT answered ${written.status}: ${problem}`);
      await Promise.all(
        origins.map(async (origin) => {
          while ((await toolCount(origin)) !== expected) {
            if (performance.now() - started > 30_000) throw new Error(`S15: ${origin} did not see change ${n} in 30 s`);
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        }),
      );
      seen.push(performance.now() - started);
    }
    const sorted = [...seen].sort((a, b) => a - b);
    return {
      changes,
      processes,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1) ?? Number.NaN,
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    await (await openStore(postgresUrl, { schema, dropSchemaOnClose: true })).close().catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { changes: { type: 'string', default: '100' } } });
  const result = await runS15(Number(values.changes));
  if ('skipped' in result) console.log(`S15 skipped: ${result.skipped}`);
  else
    console.log(
      `S15 config change seen by ${result.processes} gatehouse processes: p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, max ${result.maxMs.toFixed(1)} ms over ${result.changes} changes (target p99 <= 2000 ms)`,
    );
}
