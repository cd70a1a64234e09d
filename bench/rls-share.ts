/**
 * What row-level security costs S2's call on PostgreSQL (issue 13: "< 5% of S2"), end to end: two gateway processes
 * on one PostgreSQL schema and one Redis, the product as shipped (`gatehouse serve`), S2's closed-loop `tools/call`
 * (50 connections), rounds interleaved. One serves as the application role (`store`: a non-owner role bound by the
 * policies, `migrationStore`: the owner), as docs/operations.md deploys it; the other as a superuser, which
 * PostgreSQL exempts from every policy (even FORCEd ones). Both run the same code, so each store operation is the
 * same tenant transaction (its `begin` and setting travel with the first statement, see
 * store/postgres/run-in-tenant-transaction.ts); what differs is the policies' evaluation. bench/rls-cost.ts measures
 * the tenant transaction against a bare statement, per operation.
 *
 * Prints per round and as medians: req/s, the gateway's CPU per request and PostgreSQL's (every `postgres` process
 * of the machine, summed: run it on a machine whose PostgreSQL serves nothing else), and the ratios.
 * Run: GATEHOUSE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test npx tsx bench/rls-share.ts [rounds] [seconds]
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { withStoreSchema } from '../src/store/index.ts';
import { createRoleSchema } from '../test/support/postgres-roles.ts';
import { startPrivateRedis } from '../test/support/start-fleet.ts';
import { createClientKey, startGatehouse } from './gatehouse-target.ts';
import { median } from './percentile.ts';
import { readProcessCpuMs } from './proc-cpu.ts';
import { runLoad } from './run-load.ts';
import { stopChildren } from './spawn-child.ts';
import { startFakeUpstream } from './start-targets.ts';
import type { Target } from './target.ts';
import { checkToolCall, toolCall } from './tool-call.ts';

const adminUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
if (adminUrl === undefined) {
  process.stderr.write('rls-share: set GATEHOUSE_TEST_POSTGRES (a superuser URL)\n');
  process.exit(0);
}
const rounds = Number(process.argv[2] ?? 6);
const seconds = Number(process.argv[3] ?? 5);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** CPU (ms) of every process named `postgres` (the server and its backends), summed. */
function postgresCpuMs(): number {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    sum += readProcessCpuMs(Number(entry)) ?? 0;
  }
  return sum;
}

type Variant = 'policies' | 'exempt';
type Round = { variant: Variant; rps: number; gatewayMs: number; postgresMs: number; load: number };

const roles = await createRoleSchema(adminUrl);
const redis = await startPrivateRedis();
const upstream = await startFakeUpstream(repoRoot);
const clientKey = createClientKey();
const masterKey = randomBytes(32).toString('base64');
const cleanups: (() => unknown)[] = [() => roles.drop(), () => redis.stop()];
try {
  const fleet = { clientKey, masterKey, oauth: false, toolset: { rateLimit: { perMinute: 1_000_000 } } } as const;
  // The application role's gateway first: it migrates the schema as the owner and grants the role.
  const policies = await startGatehouse(
    repoRoot,
    upstream,
    [],
    { store: roles.appUrl, migrationStore: roles.ownerUrl, redis: redis.url },
    fleet,
  );
  cleanups.push(policies.cleanup);
  const exempt = await startGatehouse(
    repoRoot,
    upstream,
    [],
    { store: withStoreSchema(adminUrl, roles.schema), redis: redis.url },
    fleet,
  );
  cleanups.push(exempt.cleanup);
  const targets: Record<Variant, Target> = { policies: policies.target, exempt: exempt.target };
  for (const [variant, target] of Object.entries(targets)) {
    if (target.unavailable) throw new Error(`${variant}: ${target.unavailable}`);
    await checkToolCall(target);
  }
  const runs: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    const order: Variant[] = round % 2 === 0 ? ['policies', 'exempt'] : ['exempt', 'policies'];
    for (const variant of order) {
      const target = targets[variant];
      let gatewayBefore = 0;
      let postgresBefore = 0;
      const result = await runLoad(
        repoRoot,
        {
          mode: 'closed',
          url: target.url,
          method: target.method,
          headers: target.headers,
          body: target.body,
          expectText: toolCall.itemId,
          connections: 50,
          warmupSec: 1.5,
          durationSec: seconds,
        },
        () => {
          gatewayBefore = readProcessCpuMs(target.pid) ?? Number.NaN;
          postgresBefore = postgresCpuMs();
        },
      );
      const gatewayMs = (readProcessCpuMs(target.pid) ?? Number.NaN) - gatewayBefore;
      const postgresMs = postgresCpuMs() - postgresBefore;
      if (result.failed > 0) throw new Error(`${variant}: ${result.failed} calls failed`);
      const run = {
        variant,
        rps: result.rps,
        gatewayMs: gatewayMs / result.ok,
        postgresMs: postgresMs / result.ok,
        load: loadavg()[0] ?? Number.NaN,
      };
      runs.push(run);
      process.stdout.write(
        `round ${round + 1}/${rounds} ${variant}: ${Math.round(run.rps)} req/s, gateway ${run.gatewayMs.toFixed(3)} ms/req, ` +
          `postgres ${run.postgresMs.toFixed(3)} ms/req, load ${run.load.toFixed(1)}\n`,
      );
    }
  }
  const of = (variant: Variant, pick: (r: Round) => number) =>
    median(runs.filter((r) => r.variant === variant).map(pick));
  const line = (label: string, pick: (r: Round) => number, digits: number) => {
    const [p, e] = [of('policies', pick), of('exempt', pick)];
    process.stdout.write(
      `${label}: policies ${p.toFixed(digits)}, exempt ${e.toFixed(digits)}, policies/exempt ${(p / e).toFixed(3)}x\n`,
    );
  };
  line('req/s (median)', (r) => r.rps, 0);
  line('gateway CPU ms/req (median)', (r) => r.gatewayMs, 3);
  line('postgres CPU ms/req (median)', (r) => r.postgresMs, 3);
  line('gateway + postgres CPU ms/req (median)', (r) => r.gatewayMs + r.postgresMs, 3);
} finally {
  await stopChildren();
  for (const step of cleanups.reverse()) await Promise.resolve(step()).catch(() => undefined);
}
