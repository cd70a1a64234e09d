/**
 * Issue 13, "A fleet under load, with faults": three `gatehouse serve` processes (the real command) on PostgreSQL +
 * Redis behind HAProxy, OAuth calls against a fake authorization server that rotates refresh tokens every few
 * seconds and detects reuse, and a fake upstream. Under a steady mixed load the suite injects, one after another:
 * SIGKILL of one process, SIGTERM of one (graceful), a Redis restart, the termination of every PostgreSQL backend
 * of the fleet's database, and a 2-second upstream stall. After each it checks: every call answered as successful
 * has exactly one outcome record and `audit verify` passes; no refresh token was redeemed twice; a rate limit
 * admitted exactly its limit (or, while Redis was down, refused every call: limits fail closed); clients saw errors
 * only for calls in flight on the killed process (or, for PostgreSQL, a retryable store_unavailable for a call whose
 * commit was in flight on a terminated backend); throughput was back within 5 s. It prints the figures.
 *
 * Shared services are never restarted: Redis is this suite's own `redis-server`, and PostgreSQL is a database of
 * its own on the shared server, whose backends alone are terminated.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditChainReport, loadAuditCheckpointKey, verifyAuditChain } from '../../src/audit/index.ts';
import { systemClock } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { createVault, loadMasterKeys } from '../../src/vault/index.ts';
import {
  type CallResult,
  callTool,
  type FleetLoad,
  recoveryMs,
  startFleetLoad,
  throughput,
} from '../support/fleet-load.ts';
import { fleetServicesYaml, seedFleetConnection } from '../support/fleet-services.ts';
import { freePort } from '../support/free-port.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { type FakeRefreshServer, startFakeRefreshServer } from '../support/start-fake-refresh-server.ts';
import {
  type Balancer,
  createFleetDatabase,
  type FleetDatabase,
  type GatewayProcess,
  type PrivateRedis,
  startGatewayProcess,
  startHaproxy,
  startPrivateRedis,
} from '../support/start-fleet.ts';

const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
const haproxyInstalled = spawnSync('haproxy', ['-v']).status === 0;
const redisInstalled = spawnSync('redis-server', ['--version']).status === 0;
const missing = [
  ...(postgresUrl === undefined ? ['GATEHOUSE_TEST_POSTGRES is not set'] : []),
  ...(haproxyInstalled ? [] : ['haproxy is not installed (apt-get install haproxy)']),
  ...(redisInstalled ? [] : ['redis-server is not installed (apt-get install redis-server)']),
];
/** 4 to 4.5 minutes on a busy 2-core machine (docs/operations.md): `GATEHOUSE_TEST_FLEET=0` leaves it out of a local `npm test`. */
const optedOut = process.env['GATEHOUSE_TEST_FLEET'] === '0';
// In CI a missing piece is an error, not a skip: `.ci/run` installs HAProxy.
if (missing.length > 0 && process.env['CI'] === 'true') {
  throw new Error(`the fleet suite needs: ${missing.join('; ')}`);
}
if (missing.length > 0) console.warn(`skipping the fleet fault suite: ${missing.join('; ')}`);

const bin = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const masterKey = Buffer.alloc(32, 13).toString('base64');
const adminToken = 'fleet-admin-token-0123456789abcdef';
const clientKey = 'gatehouse_sk_fleet_agent_0123456789abcdef';
const limitKey = (phase: string) => `gatehouse_sk_fleet_limit_${phase}_0123456789`;
const phases = ['sigkill', 'sigterm', 'redis', 'postgres', 'stall'] as const;
/** The limited toolset's rate limit: a burst of 5, then one a minute (so a phase sees exactly 5). */
const limitBurst = 5;
/** Tolerant where timing is involved (a loaded 2-core machine): "full throughput" is this share of the baseline. */
const fullThroughput = 0.7;
const recoveryBudgetMs = 5_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let dir: string;
let redis: PrivateRedis;
let database: FleetDatabase;
let upstream: FakeApi;
let as: FakeRefreshServer;
let balancer: Balancer;
/** A refresh token of the connection's current family (a reconnect after `reauth_required` starts a new one). */
let familyToken: string;
const ports = new Map<string, number>();
const gateways = new Map<string, GatewayProcess>();
/** While set, the upstream holds every answer until it resolves (the 2-second stall). */
let stall: Promise<void> | undefined;

function gatewayConfig(lbPort: number): string {
  const limited = phases.map(
    (phase) => `      - { name: limit-${phase}, key: ${limitKey(phase)}, toolsets: [limited], subject: alice }`,
  );
  return `publicUrl: http://127.0.0.1:${lbPort}
store: ${database.url}
redis: ${redis.url}
adminToken: ${adminToken}
trustedProxies: [127.0.0.1]
logFormat: json
logLevel: warn
shutdown: { unreadyDelaySeconds: 3, drainTimeoutSeconds: 8 }
oauthRefresh: { backgroundIntervalSeconds: 0.5 }
unsafeAllowPrivateUpstreams: [127.0.0.1]
tenants:
  - id: acme
    services:
${fleetServicesYaml(upstream.url, as, 1)}
    toolsets:
      - { id: reads, tools: [fake_getItem] }
      - { id: writes, tools: [fake_createItem], access: write, approval: [fake_createItem] }
      - { id: oauth, tools: [oauth_getResource] }
      - id: limited
        tools: [fake_getItem]
        rateLimit: { perMinute: 1, burst: ${limitBurst}, per: clientKey }
    clientKeys:
      - { name: agent, key: ${clientKey}, toolsets: [reads, writes, oauth], subject: alice }
      - { name: limit-redis-down, key: ${limitKey('redis-down')}, toolsets: [limited], subject: alice }
${limited.join('\n')}
`;
}

const env = { GATEHOUSE_MASTER_KEY: masterKey };

async function startGateway(name: string): Promise<GatewayProcess> {
  const started = await startGatewayProcess({
    name,
    port: ports.get(name) as number,
    cwd: dir,
    config: 'gatehouse.yaml',
    env,
  });
  gateways.set(name, started);
  return started;
}

/** Waits until the balancer has sent a request to each of `names` (its checks need `rise` good answers). */
async function balancerSees(names: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  const seen = new Set<string>();
  while (names.some((name) => !seen.has(name))) {
    if (Date.now() > deadline) throw new Error(`the balancer did not route to ${names.join(', ')}`);
    const response = await fetch(`${balancer.url}/healthz`).catch(() => undefined);
    const backend = response?.headers.get('x-gatehouse-backend');
    if (response?.status === 200 && backend) seen.add(backend);
    await sleep(50);
  }
}

/** Outcome records (`kind = tool_call`) per request id, read from the fleet's database. */
async function outcomeRecords(): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ request_id: string; n: number }>(
      `select request_id, count(*)::int as n from audit_records
        where tenant_id = 'acme' and kind = 'tool_call' group by request_id`,
    );
    return new Map(rows.map((row) => [row.request_id, row.n]));
  } finally {
    await client.end();
  }
}

/** The real `gatehouse audit verify` command (a cold process: run once, at the end). */
async function auditVerifyCommand(): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [bin, 'audit', 'verify', '--config', 'gatehouse.yaml', '--tenant', 'acme'], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

/** What `audit verify` checks, in this process (the command costs a cold start per phase on a loaded machine). */
async function auditVerify(): Promise<AuditChainReport> {
  const store = await openStore(database.url);
  try {
    const masterKeys = loadMasterKeys({ mode: 'development', masterKey, dataDir: dir, warn: () => undefined });
    const vault = createVault({ dataKeys: store.dataKeys, masterKeys, clock: systemClock });
    const checkpointKey = await loadAuditCheckpointKey(store.audit, vault, 'acme');
    return await verifyAuditChain(store.audit, 'acme', checkpointKey ? { checkpointKey } : {});
  } finally {
    await store.close();
  }
}

/** `count` calls at once on the limited toolset with the phase's own client key, spread over the fleet. */
async function limitedBurst(key: string, count: number): Promise<CallResult[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      callTool(balancer.url, {
        kind: 'limited',
        toolset: 'limited',
        clientKey: key,
        tool: 'fake_getItem',
        arguments: { itemId: `limited-${i}` },
        expectedDenial: 'rate_limited',
      }),
    ),
  );
}

interface Fault {
  /** performance.now() when the fault began and when it was over. */
  readonly start: number;
  readonly end: number;
  /** Errors the fault may cause (default none). */
  readonly mayFail?: (result: CallResult) => boolean;
  /** Checks of the fault itself (e.g. a graceful exit code), as problems. */
  readonly problems?: readonly string[];
  /** Runs after the recovery window, before the next phase (e.g. restarting a process). */
  readonly restore?: () => Promise<void>;
}

interface PhaseFigures {
  readonly phase: string;
  readonly calls: number;
  readonly successes: number;
  readonly errors: number;
  readonly unexpectedErrors: number;
  /** Successful calls per second in the 5 s before the fault. */
  readonly before: number;
  readonly faultMs: number;
  readonly recoveryMs: number | undefined;
  readonly limitAdmitted: number;
  readonly tokenRequests: number;
}

/** Stores alice's connection as a completed consent would (at the start, and when a person connects again). */
function connectAlice(): Promise<string> {
  return seedFleetConnection({
    store: database.url,
    dataDir: dir,
    masterKey,
    as,
    tenantId: 'acme',
    accessExpiresInMs: 3_000,
  });
}

/** One query on the fleet's database as the superuser (row-level security does not bind it). */
async function queryFleetDatabase<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function aliceConnection(): Promise<{ status: string; tokenVersion: number }> {
  const [row] = await queryFleetDatabase<{ status: string; token_version: string }>(
    `select status, token_version from connections where tenant_id = 'acme' and id = 'c-alice'`,
  );
  return { status: row?.status ?? 'missing', tokenVersion: Number(row?.token_version ?? 0) };
}

/** The owner id (`<pid>.<random>.<n>`) of the Redis refresh lease of alice's connection, if one is held. */
async function refreshLeaseOwner(): Promise<string | null> {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return await client.get(`gatehouse:refresh:${JSON.stringify(['acme', 'c-alice'])}`);
  } finally {
    client.disconnect();
  }
}

/** One OAuth call through the balancer, as the load's OAuth caller makes them. */
const oauthCall = () =>
  callTool(balancer.url, { kind: 'oauth', toolset: 'oauth', clientKey, tool: 'oauth_getResource', arguments: {} });

interface KillState {
  readonly tokenVersion: number;
  readonly reuses: number;
}

/**
 * SIGKILLs a gateway frozen first (SIGSTOP), so what it held at the kill is read exactly: whether the refresh lease
 * names its pid, the connection's token version and the reuses the authorization server had seen.
 */
async function killFrozen(victim: GatewayProcess): Promise<{ heldLease: boolean; atKill: KillState }> {
  victim.child.kill('SIGSTOP');
  const heldLease = (await refreshLeaseOwner())?.startsWith(`${victim.child.pid}.`) ?? false;
  const atKill = { tokenVersion: (await aliceConnection()).tokenVersion, reuses: as.reuses() };
  victim.child.kill('SIGKILL');
  await victim.exited;
  return { heldLease, atKill };
}

/** `rt-<family>-<hex>` -> `<family>` (the fake authorization server's token format). */
const familyOf = (refreshToken: string) => refreshToken.split('-')[1] ?? '';

/**
 * After a SIGKILL of the process that held the refresh lease: waits until the dead lease ran out and a sibling
 * redeemed the stored refresh token (the row moved on) or the connection needs a new consent. When the killed
 * process had already had the token rotated, the sibling presented the rotated-away token once (the lost token is
 * gone with the process): then the outcome must be clean (docs/operations.md "A crash during a refresh"): the
 * connection is `needs_reauth`, one security audit record says so, a call answers `reauth_required` with a
 * connect link for the person, and no refresh is tried again. Then the person connects again. Returns the problems.
 */
async function afterLostLease(atKill: KillState): Promise<string[]> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const now = await aliceConnection();
    if (now.status !== 'active' || now.tokenVersion > atKill.tokenVersion) break;
    if (Date.now() > deadline)
      return ['the connection neither refreshed nor turned needs_reauth after the lease ran out'];
    await sleep(250);
  }
  if (as.reuses() === atKill.reuses) return []; // killed before the server rotated: the sibling's redemption was first
  const problems: string[] = [];
  if (as.reuses() !== atKill.reuses + 1) problems.push(`${as.reuses() - atKill.reuses} reuses, want 1`);
  const status = (await aliceConnection()).status;
  if (status !== 'needs_reauth') problems.push(`after the reuse the connection is ${status}, want needs_reauth`);
  // The security record is written beside the refresh (detached): give it a moment.
  let records = 0;
  for (let i = 0; i < 20 && records === 0; i++) {
    if (i > 0) await sleep(250);
    const rows = await queryFleetDatabase<{ n: number }>(
      `select count(*)::int as n from audit_records
        where tenant_id = 'acme' and event = 'needs_reauth' and target = 'connection:c-alice'`,
    );
    records = rows[0]?.n ?? 0;
  }
  if (records !== 1) problems.push(`${records} needs_reauth security records, want 1`);
  const call = await oauthCall();
  if (call.code !== 'reauth_required' || typeof call.details?.['connectUrl'] !== 'string') {
    problems.push(`a call after the reuse answered ${call.code ?? call.outcome}, want reauth_required with a link`);
  }
  // No loop: after the one refused presentation, no token of the revoked family is sent again.
  await sleep(3_000);
  const sent = as.sentRefreshTokens();
  const reusedAt = sent.findIndex((token, i) => sent.indexOf(token) < i);
  const family = familyOf(sent[reusedAt] ?? '');
  const again = sent.slice(reusedAt + 1).filter((token) => familyOf(token) === family).length;
  if (again > 0) problems.push(`${again} refresh attempts of the revoked family after the reuse`);
  familyToken = await connectAlice();
  return problems;
}

describe.skipIf(optedOut || missing.length > 0)('a fleet of three gateways under load, with faults (issue 13)', () => {
  let load: FleetLoad | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-fleet-'));
    redis = await startPrivateRedis();
    database = await createFleetDatabase(postgresUrl as string);
    upstream = await startFakeApi();
    upstream.handle(async (request, res) => {
      if (stall !== undefined) await stall;
      const status = request.method === 'POST' ? 201 : 200;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ path: request.path }));
    });
    // Access tokens live 3 s and are refreshed 1 s before they expire: a rotation every 2 s or so.
    as = await startFakeRefreshServer({ expiresIn: 3 });

    for (const name of ['g1', 'g2', 'g3']) ports.set(name, await freePort());
    const lbPort = await freePort();
    writeFileSync(join(dir, 'gatehouse.yaml'), gatewayConfig(lbPort));

    // The schema and the OAuth connection exist before the fleet starts, as after a completed consent.
    familyToken = await connectAlice();

    balancer = await startHaproxy(dir, lbPort, ports);
    await Promise.all(['g1', 'g2', 'g3'].map(startGateway));
    await balancerSees(['g1', 'g2', 'g3']);
  }, 300_000);

  afterAll(async () => {
    await load?.stop();
    for (const gateway of gateways.values()) if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
    await Promise.all([...gateways.values()].map((gateway) => gateway.exited));
    await balancer?.close();
    await redis?.stop();
    await database?.drop();
    await upstream?.close();
    await as?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('SIGKILL, SIGTERM, Redis restart, PostgreSQL backends killed, upstream stall: no lost or doubled records, no token reuse, exact limits, errors only in flight on the killed process, recovery within 5 s', async () => {
    load = startFleetLoad({ baseUrl: balancer.url, clientKey, adminToken, readers: 3, writers: 1, oauthCallers: 1 });
    await sleep(3_000); // warm-up: connections, JIT, the first token rotations
    const baselineFrom = performance.now();
    await sleep(5_000);
    const baseline = throughput(load.results, baselineFrom, performance.now());
    const problems: string[] = [];
    const figures: PhaseFigures[] = [];
    const results = load.results;
    /** Reuses of a refresh token the SIGKILL lost with the lease holder (at most one, see afterLostLease). */
    let explainedReuses = 0;
    /** Reads the killed process answered in the second before its SIGKILL: their records may be lost with it. */
    const unrecordedReads = new Set<string>();
    let killedLeaseHolder = false;

    async function runPhase(phase: (typeof phases)[number], inject: () => Promise<Fault>): Promise<void> {
      const from = performance.now();
      const tokenRequestsBefore = as.tokenRequests();
      const fault = await inject();
      problems.push(...(fault.problems ?? []).map((problem) => `${phase}: ${problem}`));
      // The recovery window: 7 s after the fault ended, under the same load.
      await sleep(Math.max(0, fault.end + 7_000 - performance.now()));
      const to = performance.now();
      const inPhase = results.filter((r) => r.startedAt >= from && r.startedAt < to);
      const errors = inPhase.filter((r) => r.outcome === 'error');
      const unexpected = errors.filter((r) => !(fault.mayFail?.(r) ?? false));
      for (const error of unexpected.slice(0, 5)) {
        problems.push(
          `${phase}: unexpected error ${error.kind} ${error.code} (HTTP ${error.httpStatus ?? '-'}, backend ${error.backend ?? '-'}, ${Math.round(error.startedAt - fault.start)} ms after the fault began${error.details?.['error'] ? `: ${String(error.details['error'])}` : ''})`,
        );
      }
      if (unexpected.length > 5) problems.push(`${phase}: ... ${unexpected.length} unexpected errors in all`);
      // "Full throughput" is this phase's own: the 5 s before the fault (other work on a shared machine moves it).
      const before = throughput(results, from - 5_000, from);
      const recovery = recoveryMs(results, {
        faultEnd: fault.end,
        until: to,
        baseline: before,
        fraction: fullThroughput,
      });
      if (recovery === undefined || recovery > recoveryBudgetMs) {
        problems.push(`${phase}: throughput not back to ${fullThroughput * 100}% of ${before.toFixed(0)}/s within 5 s`);
      }

      // Exact limits once the fleet is whole again: 3 x the burst at once, across the processes.
      const burst = await limitedBurst(limitKey(phase), limitBurst * 3);
      const admitted = burst.filter((r) => r.outcome === 'success').length;
      const refused = burst.filter((r) => r.outcome === 'denied').length;
      if (admitted !== limitBurst || refused !== limitBurst * 2) {
        problems.push(
          `${phase}: the limit admitted ${admitted} and refused ${refused} of ${burst.length} (want ${limitBurst} and ${limitBurst * 2}); others: ${burst
            .filter((r) => r.outcome === 'error')
            .map((r) => r.code)
            .join(',')}`,
        );
      }

      // Every call answered as successful has exactly one outcome record; no call has two.
      // Records of reads answered first are written right after their answers: a loaded machine may take a while.
      // The one documented exception (docs/audit.md, `commitBeforeAnswer: writes`): a read the killed process
      // answered just before the SIGKILL, whose record it had not written yet, has none (never two).
      const answered = results
        .filter((r) => r.outcome === 'success' && !(r.requestId && unrecordedReads.has(r.requestId)))
        .concat(burst.filter((r) => r.outcome === 'success'));
      let records = await outcomeRecords();
      let withoutRecord = answered.filter((r) => r.requestId === undefined || records.get(r.requestId) !== 1);
      const waitedFrom = performance.now();
      while (withoutRecord.length > 0 && performance.now() - waitedFrom < 15_000) {
        await sleep(1_000);
        records = await outcomeRecords();
        withoutRecord = withoutRecord.filter((r) => r.requestId === undefined || records.get(r.requestId) !== 1);
      }
      if (withoutRecord.length > 0) {
        const logged = [...gateways.values()].flatMap((g) =>
          g
            .output()
            .split('\n')
            .filter((line) => /audit/i.test(line))
            .slice(-3)
            .map((line) => `${g.name}: ${line.slice(0, 400)}`),
        );
        console.log(`${phase}: successful calls without one record; the gateways logged:\n${logged.join('\n')}`);
        problems.push(
          `${phase}: ${withoutRecord.length} successful calls without exactly one outcome record (first: ${withoutRecord[0]?.kind} ${withoutRecord[0]?.requestId} on ${withoutRecord[0]?.backend}: ${records.get(withoutRecord[0]?.requestId ?? '') ?? 0})`,
        );
      }
      const doubled = [...records].filter(([, n]) => n > 1);
      if (doubled.length > 0)
        problems.push(`${phase}: ${doubled.length} request ids with more than one outcome record`);
      const verified = await auditVerify();
      if (!verified.ok) {
        problems.push(
          `${phase}: audit verify: ${verified.problem} at seq ${verified.firstBadSeq} (${verified.checked} checked)`,
        );
      }

      // No refresh token redeemed twice; none presented again unless the SIGKILL took a rotated token with it
      // (checked in afterLostLease); the current family alive.
      const twice = [...as.redemptions()].filter(([, n]) => n > 1).length;
      if (twice > 0) problems.push(`${phase}: ${twice} refresh tokens redeemed twice`);
      if (as.reuses() > explainedReuses) {
        problems.push(`${phase}: ${as.reuses() - explainedReuses} rotated-away refresh tokens presented again`);
      }
      if (as.isFamilyRevoked(familyToken)) problems.push(`${phase}: the token family was revoked`);

      figures.push({
        phase,
        calls: inPhase.length,
        successes: inPhase.filter((r) => r.outcome === 'success').length,
        errors: errors.length,
        unexpectedErrors: unexpected.length,
        before: Math.round(before),
        faultMs: Math.round(fault.end - fault.start),
        recoveryMs: recovery === undefined ? undefined : Math.round(recovery),
        limitAdmitted: admitted,
        tokenRequests: as.tokenRequests() - tokenRequestsBefore,
      });
      await fault.restore?.();
      console.log(`fleet: phase ${phase} done after ${Math.round((performance.now() - from) / 1000)} s`);
    }

    async function restart(name: string): Promise<void> {
      await startGateway(name);
      await balancerSees([name]);
    }

    await runPhase('sigkill', async () => {
      const victim = gateways.get('g1') as GatewayProcess;
      const start = performance.now();
      const { heldLease, atKill } = await killFrozen(victim);
      killedLeaseHolder = heldLease;
      const died = performance.now();
      for (const r of results) {
        // OAuth calls are reads too (a GET of an OAuth service): the same documented window applies to them.
        const read = r.kind === 'read' || r.kind === 'oauth';
        if (read && r.backend === 'g1' && r.requestId && r.endedAt >= start - 1_000 && r.endedAt <= died) {
          unrecordedReads.add(r.requestId);
        }
      }
      const lostLease = killedLeaseHolder ? await afterLostLease(atKill) : [];
      explainedReuses = as.reuses();
      const end = performance.now();
      return {
        start,
        end,
        problems: lostLease,
        // Only calls the killed process had taken: sent before it died, answered by the balancer for g1 (or, when
        // the balancer dropped the client's connection, with no answer at all). When it held the refresh lease,
        // OAuth calls also wait for the lease to run out (credential_unavailable, retryable) and, if the token it
        // took with it had been rotated, need the person to connect again (reauth_required) until they have.
        mayFail: (r) =>
          (r.startedAt <= died && (r.backend === 'g1' || (r.code === 'network' && r.backend === undefined))) ||
          (killedLeaseHolder &&
            r.kind === 'oauth' &&
            (r.code === 'credential_unavailable' || r.code === 'reauth_required') &&
            r.startedAt <= end),
        restore: () => restart('g1'),
      };
    });

    await runPhase('sigterm', async () => {
      const victim = gateways.get('g2') as GatewayProcess;
      const start = performance.now();
      victim.child.kill('SIGTERM');
      const code = await victim.exited;
      return {
        start,
        end: performance.now(),
        problems: code === 0 ? [] : [`the stopped process exited ${code}:\n${victim.output()}`],
        restore: () => restart('g2'),
      };
    });

    let downCalls: CallResult[] = [];
    await runPhase('redis', async () => {
      const start = performance.now();
      const restarted = redis.restart(1_500);
      await sleep(500);
      // While Redis is down limits fail closed (docs/configuration.md): nothing is admitted uncounted.
      downCalls = await limitedBurst(limitKey('redis-down'), 6);
      await restarted;
      const closed = downCalls.filter((r) => r.code !== 'store_unavailable');
      const end = performance.now();
      return {
        start,
        end,
        // Without Redis no refresh token is redeemed (docs/configuration.md): an OAuth call whose 3-second token
        // expired meanwhile fails retryably until the gateways have reconnected (at most 2 s after Redis is back).
        mayFail: (r) => r.kind === 'oauth' && r.code === 'credential_unavailable' && r.startedAt <= end + 2_500,
        problems:
          closed.length === 0
            ? []
            : [`with Redis down the limited calls answered ${closed.map((r) => r.code ?? 'success')}`],
      };
    });

    await runPhase('postgres', async () => {
      const start = performance.now();
      const terminated = await database.terminateBackends();
      const end = performance.now();
      return {
        start,
        end,
        // A store operation whose `commit` was in flight on a terminated backend has an unknown outcome: a write that
        // must not run twice then answers store_unavailable (retryable; docs/operations.md "A lost connection"). So
        // may a call in flight while the backends were terminated; none after (operations lost earlier run again).
        mayFail: (r) => r.code === 'store_unavailable' && r.startedAt <= end,
        problems: terminated > 0 ? [] : ['no PostgreSQL backend of the fleet was terminated'],
      };
    });

    await runPhase('stall', async () => {
      const start = performance.now();
      const over = sleep(2_000);
      stall = over;
      await over;
      stall = undefined;
      return { start, end: performance.now() };
    });

    await load.stop();
    const finalRecords = await outcomeRecords();
    const lostReads = [...unrecordedReads].filter((id) => !finalRecords.has(id)).length;
    const command = await auditVerifyCommand();
    if (command.code !== 0) problems.push(`gatehouse audit verify exited ${command.code}: ${command.output}`);
    const approvalFailures = load.approvalFailures();
    load = undefined;
    console.log(
      [
        `fleet under faults: baseline ${baseline.toFixed(0)} successful calls/s (3 processes, 5 closed-loop clients), ${results.length} calls in all, approvals that failed ${approvalFailures}`,
        ...figures.map(
          (f) =>
            `  ${f.phase.padEnd(8)} calls ${f.calls}, successes ${f.successes}, errors ${f.errors} (unexpected ${f.unexpectedErrors}), fault ${f.faultMs} ms, back to ${fullThroughput * 100}% of ${f.before}/s after ${f.recoveryMs ?? 'never'} ms, limit admitted ${f.limitAdmitted}/${limitBurst}, token requests ${f.tokenRequests}`,
        ),
        `  reads answered by the killed process in its last second: ${unrecordedReads.size}, of which without a record: ${lostReads}`,
        `  refresh: ${as.tokenRequests()} token requests, ${as.reuses()} reuses (the SIGKILL ${killedLeaseHolder ? 'hit the refresh lease holder' : 'did not hit the refresh lease holder'}); Redis down: ${downCalls.map((r) => r.code).join(',')}`,
      ].join('\n'),
    );
    expect(problems).toEqual([]);
  }, 900_000);
  // The worst case of the SIGKILL above, made certain: the authorization server rotates the refresh token at once
  // but answers 5 s later, and the process waiting for that answer (holding the lease) is killed.
  it('SIGKILL of the refresh lease holder after the server rotated: the token is presented once more, then needs_reauth cleanly (one security record, a connect link, no further attempts)', async () => {
    const owners = new Map([...gateways.values()].map((g) => [String(g.child.pid), g]));
    as.script({ processThenDelay: true, delayMs: 5_000 });
    const requests = as.tokenRequests();
    // The background refresh (every 0.5 s, tokens of 3 s) makes one of the processes redeem within seconds.
    let victim: GatewayProcess | undefined;
    for (let i = 0; i < 200 && victim === undefined; i++) {
      await sleep(50);
      const owner = await refreshLeaseOwner();
      if (owner !== null && as.tokenRequests() > requests) victim = owners.get(owner.split('.')[0] ?? '');
    }
    if (victim === undefined) throw new Error('no process took the refresh lease and sent a token request');
    const { heldLease, atKill } = await killFrozen(victim);
    expect(heldLease).toBe(true);
    expect(await afterLostLease(atKill)).toEqual([]);
    // afterLostLease checked the outcome only when a reuse happened: here it must have.
    expect(as.reuses()).toBe(atKill.reuses + 1);
    // The person connected again: the new family refreshes.
    expect((await oauthCall()).outcome).toBe('success');
  }, 120_000);
});
