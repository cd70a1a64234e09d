/**
 * S8 (BENCHMARKS.md) and issue 13's scale figures, each measured in fresh child processes (`--expose-gc`):
 * - heap per 1,000 tenants sharing one GitHub catalogue, each with its own service binding, toolset (policy with
 *   a rate limit), client key and a first call made (key cache, limiter bucket, connection lookup warmed):
 *   post-GC heap with 1,001 tenants minus with 1 tenant. Target <= 10 MB.
 * - start-up of a gateway with 10,000 tenants over 100 services (tenant i uses service i mod 100; each service a
 *   binding of the same GitHub description): config parse + gateway build, wall time. Target <= 10 s.
 *
 *   npx tsx bench/s8-tenants.ts [--tenants 1000] [--startup-tenants 10000]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sharedSpecsDir } from '../test/support/shared-specs-dir.ts';

const { values: args } = parseArgs({
  options: {
    tenants: { type: 'string', default: '1000' },
    'startup-tenants': { type: 'string', default: '10000' },
    child: { type: 'string' },
    count: { type: 'string' },
    services: { type: 'string' },
  },
});
const specsDir = sharedSpecsDir;
const github = join(specsDir, 'github.api.github.com.json');

if (args.child !== undefined) {
  await runChild(args.child as 'heap' | 'startup', Number(args.count), Number(args.services ?? '1'));
} else {
  if (!existsSync(github)) {
    console.log(`S8 skipped: ${github} not found (set GATEHOUSE_SPECS_DIR)`);
    process.exit(0);
  }
  const perRun = (kind: string, count: number, services = 1) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--expose-gc',
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--child',
          kind,
          '--count',
          String(count),
          '--services',
          String(services),
        ],
        { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, GATEHOUSE_SPECS_DIR: specsDir } },
      ).trim(),
    ) as { heapMb: number; buildMs: number; rssMb: number };
  const n = Number(args.tenants);
  const one = perRun('heap', 1);
  const many = perRun('heap', n + 1);
  const perThousand = ((many.heapMb - one.heapMb) / n) * 1000;
  console.log(
    `S8 heap: 1 tenant ${one.heapMb.toFixed(1)} MB, ${n + 1} tenants ${many.heapMb.toFixed(1)} MB -> ${perThousand.toFixed(2)} MB per 1,000 tenants (target <= 10 MB) ${perThousand <= 10 ? 'pass' : 'FAIL'}`,
  );
  const startupTenants = Number(args['startup-tenants']);
  const startup = perRun('startup', startupTenants, 100);
  console.log(
    `S8 start-up: ${startupTenants} tenants over 100 services built in ${(startup.buildMs / 1000).toFixed(2)} s (target <= 10 s) ${startup.buildMs <= 10_000 ? 'pass' : 'FAIL'}; heap ${startup.heapMb.toFixed(0)} MB, RSS ${startup.rssMb.toFixed(0)} MB`,
  );
}

async function runChild(kind: 'heap' | 'startup', count: number, services: number): Promise<void> {
  const { parseConfig, systemClock } = await import('../src/core/index.ts');
  const { createGateway } = await import('../src/gateway/index.ts');
  const { openAdapters } = await import('../src/open-adapters.ts');
  const { createFakeUpstream } = await import('../test/support/open-gateway-under-test.ts');
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-s8-'));
  const key = (i: number) => `gatehouse_sk_s8_${String(i).padStart(6, '0')}_${'x'.repeat(24)}`;
  const tenants = Array.from({ length: count }, (_, i) => ({
    id: `t${i}`,
    services: [
      {
        id: `gh${i % services}`,
        openapi: github,
        baseUrl: 'https://api.github.com/',
        auth: { type: 'bearer', token: `upstream-token-${i}-${'y'.repeat(16)}` },
      },
    ],
    toolsets: [
      {
        id: 'agent',
        tools: [`gh${i % services}_repos_*`, `gh${i % services}_issues_*`],
        access: 'read',
        rateLimit: { perMinute: 100 },
      },
    ],
    clientKeys: [{ name: 'agent', key: key(i), toolsets: ['agent'] }],
  }));
  const started = performance.now();
  const config = parseConfig(
    {
      dataDir,
      logLevel: 'silent',
      masterKey: randomBytes(32).toString('base64'),
      tenants,
    },
    { env: {}, baseDir: process.cwd() },
  );
  const adapters = await openAdapters(config, { stderr: { write: () => true } as unknown as NodeJS.WritableStream });
  const upstream = createFakeUpstream();
  const gateway = await createGateway({ config, ...adapters, upstream, clock: systemClock });
  const buildMs = performance.now() - started;
  if (kind === 'heap') {
    for (let i = 0; i < count; i++) {
      const caller = await gateway.authenticate(`t${i}`, 'agent', `Bearer ${key(i)}`);
      const outcome = await gateway.callTool(caller, `gh${i % services}_repos_get`, { owner: 'o', repo: 'r' }, `r${i}`);
      if (!outcome.ok) throw new Error(`tenant t${i}: ${outcome.error.code} ${outcome.error.message}`);
    }
  }
  await new Promise((done) => setTimeout(done, 50));
  for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({ heapMb: memory.heapUsed / 2 ** 20, rssMb: memory.rss / 2 ** 20, buildMs })}\n`,
  );
  await gateway.close?.();
  await adapters.close();
  rmSync(dataDir, { recursive: true, force: true });
}
