import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createFakeUpstream,
  type FakeAnswer,
  type GatewayUnderTest,
  jsonResponse,
  openGatewayUnderTest,
} from '../../test/support/open-gateway-under-test.ts';
import { seedOAuthConnection } from '../../test/support/seed-oauth-connection.ts';
import { type FakeRefreshServer, startFakeRefreshServer } from '../../test/support/start-fake-refresh-server.ts';
import { type ErrorCode, errorCodes, errorTable, GatehouseError } from '../core/index.ts';
import { createRedisLimiter } from '../store/index.ts';
import { createCircuitBreaker, createRetryingUpstream } from '../upstream/index.ts';
import type { GatewayDependencies } from './index.ts';

/**
 * AU-01 for every error code a `tools/call` can end with: the code is driven for real through the use case (the
 * real gateway over SQLite, a fake upstream client behind the real retrying client and breaker, an injected clock),
 * and the call leaves exactly one outcome record whose decision is the error table's. The list is keyed by the
 * table's codes, so a code added to core without a driver here (or a reason why no call ends with it) does not
 * compile, and fails the first test.
 */

const fakeApi = fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url));
const scopedApi = fileURLToPath(new URL('../../test/fixtures/scoped-api.openapi.yaml', import.meta.url));
const key = 'gatehouse_sk_call_tool_outcomes_agent_012345';

let as: FakeRefreshServer;
beforeAll(async () => {
  as = await startFakeRefreshServer();
});
afterAll(async () => {
  await as?.close();
});

let under: GatewayUnderTest | undefined;
afterEach(async () => {
  await under?.close();
  under = undefined;
});

interface Driver {
  /** Merged into the top level of the config. */
  readonly config?: Record<string, unknown>;
  /** Merged into the toolset `agent` (tools `*`, access write). */
  readonly toolset?: Record<string, unknown>;
  /** Merged into the service `fake` (the fake API description, auth none). */
  readonly service?: Record<string, unknown> | (() => Record<string, unknown>);
  readonly deps?: (u: Awaited<ReturnType<typeof openGatewayUnderTest>>['adapters']) => Partial<GatewayDependencies>;
  /** The breaker's minimum calls before it may open (default the breaker's own). */
  readonly breakerMinimumCalls?: number;
  /** How the fake upstream answers; default 200 `{ ok: true }`. */
  readonly answer?: FakeAnswer;
  /** Runs before the checked call: seeds connections, makes earlier calls. */
  readonly setup?: (u: GatewayUnderTest) => Promise<void>;
  readonly tool: string;
  /** The checked call's arguments, or a function of what `setup` made. */
  readonly args?: unknown;
}

/** The handle the query_budget_exceeded driver's setup made. */
let handle = '';

type Outcomes = { readonly [code in ErrorCode]: Driver | { readonly notAToolCallOutcome: string } };

const oauth = () => ({
  auth: { type: 'oauth2', tokenUrl: as.tokenUrl, clientId: as.clientId, clientSecret: as.clientSecret },
});
const scoped = () => ({
  openapi: scopedApi,
  auth: {
    type: 'oauth2',
    authorizationUrl: `${as.url}/authorize`,
    tokenUrl: as.tokenUrl,
    clientId: as.clientId,
    clientSecret: as.clientSecret,
    scopes: ['items:read', 'items:write'],
  },
});
const seed = (u: GatewayUnderTest, accessExpiresAt = u.clock.now() + 3_600_000, scopes?: readonly string[]) =>
  seedOAuthConnection(u.adapters, as, {
    tenantId: 'acme',
    id: 'c-alice',
    service: 'fake',
    subject: 'alice',
    accessExpiresAt,
    ...(scopes ? { scopes } : {}),
  });
const throws =
  (code: ErrorCode, details: Record<string, string | number> = {}): FakeAnswer =>
  () => {
    throw new GatehouseError(code, `The fake upstream failed with ${code}`, details);
  };
const getItem = { tool: 'fake_getItem', args: { itemId: 'one' } } as const;

const outcomes: Outcomes = {
  config_invalid: { notAToolCallOutcome: 'configs are checked at start; a gateway with a bad one never serves' },
  description_invalid: { notAToolCallOutcome: 'descriptions are imported at start or by the import command' },
  invalid_request: { notAToolCallOutcome: 'admin API and CLI requests (approval decisions, key requests)' },
  invalid_arguments: { tool: 'fake_getItem', args: {} },
  resource_invalid: { notAToolCallOutcome: 'admin API writes of tenant resources' },
  resource_conflict: { notAToolCallOutcome: 'admin API creates of tenant resources' },
  precondition_failed: { notAToolCallOutcome: 'admin API writes with a stale If-Match' },
  forbidden: { notAToolCallOutcome: 'admin API callers whose role does not allow the route' },
  payload_too_large: { notAToolCallOutcome: 'the HTTP layer refuses the body before any call is parsed' },
  revision_conflict: { notAToolCallOutcome: 'only writes of a stored tenant configuration end with it' },
  query_budget_exceeded: {
    // The length budget: refused before any query worker starts (the time and memory budgets: query-result tests).
    config: { resultHandles: { query: { maxExpressionLength: 8 } } },
    answer: () => jsonResponse(200, { items: Array.from({ length: 400 }, (_, i) => ({ id: `item-${i}` })) }),
    async setup(u) {
      const listed = await u.gateway.callTool(await u.callerOf('agent', key), 'fake_listItems', {}, 's');
      handle = listed.ok ? String(listed.structuredContent?.['handle']) : '';
    },
    tool: 'gatehouse_result_query',
    args: () => ({ handle, expression: 'items[*].id | length(@)' }),
  },
  unauthenticated: { notAToolCallOutcome: 'authenticate() refuses the key before a call exists' },
  forbidden_origin: { notAToolCallOutcome: 'the HTTP layer refuses the Origin/Host before a call exists' },
  not_found: { tool: 'gatehouse_result_query', args: { handle: 'h_unknown', expression: '@' } },
  method_not_allowed: { notAToolCallOutcome: 'HTTP routing' },
  tool_not_found: { tool: 'fake_nothing', args: {} },
  tool_not_allowed: { toolset: { tools: ['fake_listItems'] }, tool: 'fake_getItem', args: { itemId: 'one' } },
  access_mode_denied: { toolset: { access: 'read' }, tool: 'fake_deleteItem', args: { itemId: 'one' } },
  scope_missing: {
    service: scoped,
    toolset: { access: 'write' },
    setup: async (u) => void (await seed(u, undefined, ['items:read'])),
    tool: 'fake_deleteItem',
    args: { itemId: 'one' },
  },
  approval_required: { toolset: { approval: 'destructive' }, tool: 'fake_deleteItem', args: { itemId: 'one' } },
  approval_denied: {
    toolset: { approval: 'destructive' },
    async setup(u) {
      const first = await u.gateway.callTool(await u.callerOf('agent', key), 'fake_deleteItem', { itemId: 'one' }, 's');
      const id = first.ok ? '' : String(first.error.details['approvalId']);
      await u.gateway.approvals?.decide('acme', id, 'denied', 'bob', 'admin_api');
    },
    tool: 'fake_deleteItem',
    args: { itemId: 'one' },
  },
  rate_limited: {
    toolset: { rateLimit: { perMinute: 1 } },
    setup: async (u) => void (await u.gateway.callTool(await u.callerOf('agent', key), 'fake_listItems', {}, 's')),
    ...getItem,
  },
  connection_required: { service: oauth, ...getItem },
  reauth_required: {
    service: oauth,
    async setup(u) {
      await seed(u);
      const row = await u.adapters.store.connections.get('acme', 'c-alice');
      if (row) await u.adapters.store.connections.upsert({ ...row, status: 'needs_reauth' });
    },
    ...getItem,
  },
  credential_unavailable: {
    // An expired token and a token endpoint that answers 503: kept credential, nothing usable now (RF-06).
    service: oauth,
    async setup(u) {
      await seed(u, u.clock.now() - 1_000);
      as.script({ status: 503 });
    },
    ...getItem,
  },
  decrypt_failed: {
    service: oauth,
    async setup(u) {
      await seed(u);
      const row = await u.adapters.store.connections.get('acme', 'c-alice');
      const tampered = Uint8Array.from(row?.accessToken ?? []);
      tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 0xff;
      if (row) await u.adapters.store.connections.upsert({ ...row, accessToken: tampered });
    },
    ...getItem,
  },
  master_key_missing: { notAToolCallOutcome: 'the vault refuses to start without a master key' },
  oauth_state_invalid: { notAToolCallOutcome: 'the OAuth callback (browser), not a tool call' },
  oauth_issuer_mismatch: { notAToolCallOutcome: 'the OAuth callback (browser), not a tool call' },
  oauth_denied: { notAToolCallOutcome: 'the OAuth callback (browser), not a tool call' },
  oauth_token_failed: {
    // The service's own token (client credentials) and a token endpoint that refuses the client.
    service: () => ({ auth: { ...oauth().auth, grant: 'client_credentials' } }),
    setup: async () => as.script({ status: 401, json: { error: 'invalid_client' } }),
    ...getItem,
  },
  oauth_discovery_failed: {
    notAToolCallOutcome:
      'ends a call only of a federated (mcp:) service, which this HTTP harness has none of: driven in ' +
      'discover-resource-authorization.test.ts and test/e2e/federation-oauth.integration.test.ts',
  },
  cancelled: {
    notAToolCallOutcome:
      "ends a call only of a federated (mcp:) service, whose client's cancellation this HTTP harness cannot relay: " +
      'driven in test/e2e/federation.integration.test.ts',
  },
  upstream_blocked: { answer: throws('upstream_blocked'), ...getItem },
  upstream_timeout: { answer: throws('upstream_timeout', { phase: 'response' }), ...getItem },
  upstream_too_large: { answer: throws('upstream_too_large'), ...getItem },
  upstream_unreachable: {
    answer: throws('upstream_unreachable', { phase: 'response' }),
    tool: 'fake_deleteItem',
    args: { itemId: 'one' },
  },
  upstream_error: {
    answer: () => jsonResponse(500, { error: 'boom' }),
    tool: 'fake_deleteItem',
    args: { itemId: 'one' },
  },
  upstream_unauthorized: {
    service: oauth,
    setup: async (u) => void (await seed(u)),
    answer: () => jsonResponse(401, { error: 'invalid_token' }),
    ...getItem,
  },
  upstream_insufficient_scope: {
    notAToolCallOutcome:
      'ends a call only of a federated (mcp:) service whose server answers insufficient_scope, which this HTTP ' +
      'harness has none of: driven in test/e2e/federation-step-up.integration.test.ts',
  },
  upstream_rate_limited: {
    answer: () => jsonResponse(429, {}, { 'retry-after': '120' }),
    tool: 'fake_deleteItem',
    args: { itemId: 'one' },
  },
  circuit_open: {
    // Two failing writes open the (real) breaker of the upstream's origin; the third call is refused unsent.
    answer: () => jsonResponse(503, {}),
    breakerMinimumCalls: 2,
    async setup(u) {
      const caller = await u.callerOf('agent', key);
      for (const id of ['s1', 's2']) await u.gateway.callTool(caller, 'fake_deleteItem', { itemId: 'one' }, id);
    },
    tool: 'fake_deleteItem',
    args: { itemId: 'one' },
  },
  store_unavailable: {
    // The shared limiter (Redis) cannot be reached: the call is refused, not let through unlimited.
    toolset: { rateLimit: { perMinute: 100 } },
    deps: () => {
      const redis = new Redis('redis://127.0.0.1:1', {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      redis.on('error', () => {});
      return { limiter: createRedisLimiter(redis) };
    },
    ...getItem,
  },
  audit_unavailable: {
    // The intent record of a write cannot be committed (AU-03): the write is not sent.
    async setup(u) {
      const audit = u.adapters.store.audit;
      const append = audit.appendBatch.bind(audit);
      audit.appendBatch = (tenant, records, seal) =>
        records.some((r) => r.kind === 'tool_intent')
          ? Promise.reject(new Error('disk full'))
          : append(tenant, records, seal);
    },
    tool: 'fake_deleteItem',
    args: { itemId: 'one' },
  },
  internal: {
    answer: () => {
      throw new TypeError('a bug');
    },
    ...getItem,
  },
};

describe('callTool outcomes (AU-01)', () => {
  it('every error code of the table is driven below or named as no tools/call outcome', () => {
    expect(Object.keys(outcomes).sort()).toEqual([...errorCodes].sort());
    expect(Object.keys(errorTable).sort()).toEqual([...errorCodes].sort());
  });

  const driven = errorCodes.flatMap((code) => {
    const entry = outcomes[code];
    return 'notAToolCallOutcome' in entry ? [] : [[code, entry] as const];
  });

  it.each(driven)('a call ending with %s leaves exactly one outcome record with its decision', async (code, driver) => {
    const fake = createFakeUpstream(driver.answer);
    under = await openGatewayUnderTest(
      {
        // The fake authorization server is on 127.0.0.1; token requests pass the SSRF guard like upstream calls.
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        ...driver.config,
        tenants: [
          {
            id: 'acme',
            services: [
              {
                id: 'fake',
                openapi: fakeApi,
                baseUrl: 'https://api.example.com',
                auth: { type: 'none' },
                ...(typeof driver.service === 'function' ? driver.service() : driver.service),
              },
            ],
            toolsets: [
              {
                id: 'agent',
                tools: ['*'],
                access: 'write',
                approval: 'none',
                results: { budget: 500 },
                ...driver.toolset,
              },
            ],
            clientKeys: [{ name: 'agent', key, toolsets: ['agent'], subject: 'alice' }],
          },
        ],
      },
      {
        upstream: fake,
        wrapUpstream: (inner, clock) =>
          createRetryingUpstream(inner, {
            clock,
            breaker: createCircuitBreaker({
              clock,
              ...(driver.breakerMinimumCalls ? { minimumCalls: driver.breakerMinimumCalls } : {}),
            }),
            sleep: async () => {},
          }),
        ...(driver.deps ? { deps: driver.deps } : {}),
      },
    );
    const u = under;
    await driver.setup?.(u);
    const before = (await u.outcomes()).length;
    const args = typeof driver.args === 'function' ? (driver.args as () => unknown)() : driver.args;
    const outcome = await u.gateway.callTool(await u.callerOf('agent', key), driver.tool, args, 'checked');
    expect(outcome.ok ? 'ok' : outcome.error.code).toBe(code);
    const records = (await u.outcomes()).filter((r) => r.requestId === 'checked');
    expect(records.map((r) => ({ decision: r.decision, code: r.code }))).toEqual([
      { decision: errorTable[code].decision, code },
    ]);
    expect((await u.outcomes()).length).toBe(before + 1);
  });
});
