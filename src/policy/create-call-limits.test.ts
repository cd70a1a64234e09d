import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/index.ts';
import { createCallLimits } from './create-call-limits.ts';
import { createMemoryLimiter } from './create-memory-limiter.ts';

const clock = { now: () => 0, monotonic: () => 0 };

function limitsFor(toolset: Record<string, unknown>, tenant: Record<string, unknown> = {}) {
  const config = parseConfig(
    { tenants: [{ id: 'acme', toolsets: [{ id: 'ts', ...toolset }], ...tenant }] },
    { env: {} },
  );
  return createCallLimits(config.tenants, createMemoryLimiter(clock));
}

const alice = { tenant: 'acme', toolset: 'ts', keyId: 'config-agent:1', subject: 'alice@example.com' };
const bob = { ...alice, keyId: 'config-other', subject: 'bob' };

describe('createCallLimits', () => {
  it('plans nothing when no limit is configured', () => {
    expect(limitsFor({}).plan(alice, 'pets_list', 1_000)).toEqual([]);
  });

  it('plans tenant, toolset (per client key), most specific tool glob and concurrency rules with secret-free keys', () => {
    const limits = limitsFor(
      {
        rateLimit: { perMinute: 60, per: 'clientKey' },
        limits: {
          toolRateLimits: { 'pets_*': { perMinute: 6, burst: 2, per: 'subject' }, '*': { perMinute: 1 } },
          concurrency: { perKey: 2, perTool: 3 },
        },
      },
      { rateLimit: { perMinute: 600, burst: 50 } },
    );
    expect(limits.plan(alice, 'pets_list', 9_000)).toEqual([
      { kind: 'rate', key: 'acme:t', limit: 'tenant', perMinute: 600, burst: 50 },
      { kind: 'rate', key: 'acme:ts:ts:k:config-agent%3A1', limit: 'toolset.clientKey', perMinute: 60, burst: 60 },
      {
        kind: 'rate',
        key: 'acme:ts:ts:tool:pets_list:s:alice%40example.com',
        limit: 'tool.subject',
        perMinute: 6,
        burst: 2,
      },
      {
        kind: 'concurrency',
        key: 'acme:ts:ts:inflight:k:config-agent%3A1',
        limit: 'concurrency.perKey',
        maxInFlight: 2,
        leaseMs: 9_000,
      },
      {
        kind: 'concurrency',
        key: 'acme:ts:ts:inflight:tool:pets_list',
        limit: 'concurrency.perTool',
        maxInFlight: 3,
        leaseMs: 9_000,
      },
    ]);
    expect(limits.plan(alice, 'orders_list', 9_000)[2]).toMatchObject({
      key: 'acme:ts:ts:tool:orders_list',
      limit: 'tool',
    });
  });

  it('RL-05 a refusal throws rate_limited naming the limit, with a retry time; other keys are unaffected', async () => {
    const limits = limitsFor({ rateLimit: { perMinute: 1, per: 'subject' } });
    await limits.admit(alice, 'x', 1_000);
    await expect(limits.admit(alice, 'x', 1_000)).rejects.toMatchObject({
      code: 'rate_limited',
      details: { limit: 'toolset.subject', retryAfterSeconds: 60 },
    });
    await expect(limits.admit(bob, 'x', 1_000)).resolves.toBeTypeOf('function');
  });

  it('a released concurrency slot admits the next call', async () => {
    const limits = limitsFor({ limits: { concurrency: { perTool: 1 } } });
    const release = await limits.admit(alice, 'x', 1_000);
    await expect(limits.admit(bob, 'x', 1_000)).rejects.toMatchObject({
      code: 'rate_limited',
      details: { limit: 'concurrency.perTool', retryAfterSeconds: 1 },
    });
    release();
    await expect(limits.admit(bob, 'x', 1_000)).resolves.toBeTypeOf('function');
  });
});
