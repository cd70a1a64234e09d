import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, Config } from '../../src/core/index.ts';
import { parseConfig } from '../../src/core/index.ts';
import { type Caller, createGateway, type Gateway, type GatewayDependencies } from '../../src/gateway/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import type { AuditRecord } from '../../src/store/index.ts';
import type { UpstreamCall, UpstreamClient, UpstreamResponse } from '../../src/upstream/index.ts';

/** A clock the test moves by hand: `now` is wall-clock ms, `monotonic` follows it. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
}

export function createManualClock(start = Date.UTC(2026, 11, 3, 12)): ManualClock {
  let at = start;
  return { now: () => at, monotonic: () => at - start, advance: (ms) => (at += ms) };
}

/** What the fake upstream answers one call with: a response, or a thrown error (as the real client throws). */
export type FakeAnswer = (call: UpstreamCall, index: number) => UpstreamResponse | Promise<UpstreamResponse>;

/**
 * The UpstreamClient port answered in process: the unit of the `callTool` use case is everything but the wire.
 * Records every call it was sent (method, URL, headers as sent: the credential applied).
 */
export interface FakeUpstream extends UpstreamClient {
  readonly calls: UpstreamCall[];
  answer: FakeAnswer;
}

export function createFakeUpstream(answer: FakeAnswer = () => jsonResponse(200, { ok: true })): FakeUpstream {
  const upstream: FakeUpstream = {
    calls: [],
    answer,
    async send(call) {
      upstream.calls.push(call);
      return upstream.answer(call, upstream.calls.length - 1);
    },
    async close() {},
    async abort() {},
  };
  return upstream;
}

export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): UpstreamResponse {
  const text = JSON.stringify(value);
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    contentType: 'application/json',
    body: new TextEncoder().encode(text),
    json: value,
    jsonText: text,
    redirects: 0,
    durationMs: 1,
  };
}

export interface GatewayUnderTest {
  readonly gateway: Gateway;
  readonly config: Config;
  readonly adapters: Awaited<ReturnType<typeof openAdapters>>;
  readonly upstream: FakeUpstream;
  readonly clock: ManualClock;
  /** The caller a key of `toolset` (of the first tenant) authenticates as. */
  callerOf(toolset: string, key: string, tenant?: string): Promise<Caller>;
  /** The tenant's outcome records (`tool_call`), oldest first. */
  outcomes(tenant?: string): Promise<readonly AuditRecord[]>;
  close(): Promise<void>;
}

/**
 * The real gateway over the adapters main.ts opens (SQLite in a temporary folder, a fresh master key, the audit
 * log), with the upstream client replaced by a fake and the gateway's clock injected. Every answer is committed
 * to the audit log before `callTool` resolves (`audit.commitBeforeAnswer: all`), so a test reads its records
 * right after the call.
 */
export async function openGatewayUnderTest(
  raw: Record<string, unknown>,
  options: {
    readonly upstream?: FakeUpstream;
    readonly clock?: ManualClock;
    /** Puts real layers (the retrying client, the breaker) between the gateway and the fake upstream. */
    readonly wrapUpstream?: (fake: FakeUpstream, clock: ManualClock) => UpstreamClient;
    readonly deps?: (adapters: Awaited<ReturnType<typeof openAdapters>>) => Partial<GatewayDependencies>;
  } = {},
): Promise<GatewayUnderTest> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-unit-'));
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      dataDir,
      logLevel: 'silent',
      masterKey: randomBytes(32).toString('base64'),
      audit: { commitBeforeAnswer: 'all' },
      ...raw,
    },
    { env: {}, baseDir: process.cwd() },
  );
  const adapters = await openAdapters(config, { stderr: { write: () => true } as unknown as NodeJS.WritableStream });
  const upstream = options.upstream ?? createFakeUpstream();
  const clock = options.clock ?? createManualClock();
  let gateway: Gateway;
  try {
    gateway = await createGateway({
      config,
      ...adapters,
      upstream: options.wrapUpstream?.(upstream, clock) ?? upstream,
      clock,
      ...options.deps?.(adapters),
    });
  } catch (error) {
    await adapters.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const firstTenant = config.tenants[0]?.id ?? '';
  return {
    gateway,
    config,
    adapters,
    upstream,
    clock,
    callerOf: (toolset, key, tenant = firstTenant) => gateway.authenticate(tenant, toolset, `Bearer ${key}`),
    outcomes: (tenant = firstTenant) => adapters.store.audit.query({ tenantId: tenant, kind: 'tool_call' }),
    async close() {
      await gateway.close?.();
      await adapters.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
