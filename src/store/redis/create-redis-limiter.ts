import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { GatehouseError } from '../../core/index.ts';
import type { LimitDecision, Limiter, LimitRule } from '../shared-state-port.ts';

/**
 * One decision, atomically, with Redis `TIME` as the clock (so gateway clocks may differ). GCRA per rate rule:
 * state is the theoretical arrival time (TAT) in microseconds; a call is admitted when `TAT - now <= tolerance`
 * with `tolerance = (burst - 1) * interval`. Concurrency rules are sorted sets of call ids scored by lease expiry;
 * expired leases are dropped first. Nothing is written unless every rule admits the call.
 *
 * KEYS: rate keys, then concurrency keys. ARGV: [1] number of rate keys; per rate key: interval, tolerance (us);
 * then the call id; per concurrency key: max in flight, lease (us).
 * Returns {1} when admitted, or {0, index of the refusing key (1-based), wait in ms}.
 */
const admitScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nRate = tonumber(ARGV[1])
local refused = 0
local worst = 0
local tats = {}
for i = 1, nRate do
  local interval = tonumber(ARGV[2 * i])
  local tolerance = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat == nil or tat < now then tat = now end
  local wait = tat - now - tolerance
  if wait > 0 then
    if wait > worst then
      worst = wait
      refused = i
    end
  else
    tats[i] = tat + interval
  end
end
if refused > 0 then return {0, refused, math.ceil(worst / 1000)} end
local p = 2 * nRate + 2
local member = ARGV[p]
for j = nRate + 1, #KEYS do
  local k = j - nRate
  redis.call('ZREMRANGEBYSCORE', KEYS[j], '-inf', string.format('%.0f', now))
  if redis.call('ZCARD', KEYS[j]) >= tonumber(ARGV[p + 2 * k - 1]) then return {0, j, 0} end
end
for i = 1, nRate do
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
for j = nRate + 1, #KEYS do
  local k = j - nRate
  local lease = tonumber(ARGV[p + 2 * k])
  redis.call('ZADD', KEYS[j], string.format('%.0f', now + lease), member)
  redis.call('PEXPIRE', KEYS[j], math.ceil(lease / 1000) + 1000)
end
return {1}
`;

interface AdmitCommand {
  gatehouseAdmit(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]>;
}

/**
 * The Limiter shared by every gateway process on one Redis (RL-02): one Lua script per decision. Redis keys are
 * `gh:rl:{<tenant>}<rest of the rule key>`; the hash tag keeps one decision's keys in one cluster slot. A Redis
 * failure throws `store_unavailable` (fail closed: a call is never admitted uncounted).
 */
export function createRedisLimiter(redis: Redis, options: { readonly prefix?: string } = {}): Limiter {
  const prefix = options.prefix ?? 'gh:rl:';
  redis.defineCommand('gatehouseAdmit', { lua: admitScript });
  const command = redis as unknown as AdmitCommand;
  const toRedisKey = (key: string) => {
    const at = key.indexOf(':');
    return at < 0 ? `${prefix}{${key}}` : `${prefix}{${key.slice(0, at)}}${key.slice(at)}`;
  };

  return {
    async admit(rules: readonly LimitRule[]): Promise<LimitDecision> {
      const rate = rules.filter((r) => r.kind === 'rate');
      const concurrency = rules.filter((r) => r.kind === 'concurrency');
      const ordered = [...rate, ...concurrency];
      const keys = ordered.map((r) => toRedisKey(r.key));
      const member = concurrency.length > 0 ? randomBytes(12).toString('base64url') : '-';
      const args: (string | number)[] = [rate.length];
      for (const r of rate) {
        const interval = 60_000_000 / r.perMinute;
        args.push(interval, (r.burst - 1) * interval);
      }
      args.push(member);
      for (const r of concurrency) args.push(r.maxInFlight, r.leaseMs * 1000);
      let reply: number[];
      try {
        reply = await command.gatehouseAdmit(keys.length, ...keys, ...args);
      } catch {
        throw new GatehouseError('store_unavailable', 'Rate limiter unavailable (Redis)', { backend: 'redis' });
      }
      if (reply[0] !== 1) {
        const rule = ordered[(reply[1] ?? 1) - 1];
        return {
          admitted: false,
          limit: rule?.limit ?? 'unknown',
          retryAfterSeconds: Math.max(1, Math.ceil((reply[2] ?? 0) / 1000)),
        };
      }
      if (concurrency.length === 0) return { admitted: true, release: () => {} };
      const slotKeys = keys.slice(rate.length);
      let released = false;
      return {
        admitted: true,
        release() {
          if (released) return;
          released = true;
          const pipeline = redis.pipeline();
          for (const key of slotKeys) pipeline.zrem(key, member);
          // A lost release only holds the slot until its lease ends.
          pipeline.exec().catch(() => {});
        },
      };
    },
    close: async () => {},
  };
}
