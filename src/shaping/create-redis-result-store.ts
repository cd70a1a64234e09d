import { createHash } from 'node:crypto';
import { type Clock, GatehouseError } from '../core/index.ts';
import { type ResultQuotas, type ResultStore, type StoredResult, sizeOfStoredResult } from './result-store.ts';

/** The slice of a Redis client (ioredis) this backend uses, so shaping never imports a driver. */
export interface RedisCommands {
  set(key: string, value: string, mode: 'PX', milliseconds: number): Promise<unknown>;
  get(key: string): Promise<string | null>;
  eval(script: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

const prefix = 'gatehouse:result:';
/** Per tenant (hashed): a hash of the tenant's stored results, `key -> size|expiresAt|subject|storedAt`. */
const usagePrefix = 'gatehouse:result-usage:';

/**
 * Stores one result within its owner's caps, atomically (MT-08). KEYS: the tenant's usage hash, the entry.
 * ARGV: entry key (unprefixed), JSON, ttl ms, size, subject (hashed), now, expiresAt, per-subject cap,
 * per-tenant cap, entry prefix. Drops expired and replaced entries from the usage hash, then evicts the
 * subject's oldest results while over the subject cap and the tenant's oldest while over the tenant cap.
 * Only this tenant's results are ever deleted.
 */
const putScript = `
local usage, entryKey = KEYS[1], KEYS[2]
local field, value, ttl, size, subject = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local now, expiresAt, perSubject, perTenant, entryPrefix =
  tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]
local raw = redis.call('HGETALL', usage)
local list = {}
local tenantUsed, subjectUsed = 0, 0
for i = 1, #raw, 2 do
  local f, meta = raw[i], raw[i + 1]
  local s, e, who, at = string.match(meta, '^(%d+)|(%d+)|([^|]*)|(%d+)$')
  if f == field or s == nil or tonumber(e) <= now then
    redis.call('HDEL', usage, f)
  else
    s = tonumber(s)
    list[#list + 1] = { f, s, who, tonumber(at) }
    tenantUsed = tenantUsed + s
    if who == subject then subjectUsed = subjectUsed + s end
  end
end
table.sort(list, function(a, b) return a[4] < b[4] end)
for _, entry in ipairs(list) do
  if subjectUsed + size <= perSubject then break end
  if entry[3] == subject then
    redis.call('DEL', entryPrefix .. entry[1])
    redis.call('HDEL', usage, entry[1])
    subjectUsed = subjectUsed - entry[2]
    tenantUsed = tenantUsed - entry[2]
    entry[5] = true
  end
end
for _, entry in ipairs(list) do
  if tenantUsed + size <= perTenant then break end
  if not entry[5] then
    redis.call('DEL', entryPrefix .. entry[1])
    redis.call('HDEL', usage, entry[1])
    tenantUsed = tenantUsed - entry[2]
  end
end
redis.call('SET', entryKey, value, 'PX', ttl)
redis.call('HSET', usage, field, size .. '|' .. expiresAt .. '|' .. subject .. '|' .. now)
if redis.call('PTTL', usage) < ttl then redis.call('PEXPIRE', usage, ttl) end
return 1
`;

/**
 * Result handles in Redis, shared by every gateway process. Each entry expires in Redis itself (`PX`), and
 * its expiry time is checked again on read against the injected clock. Each tenant's results are counted in
 * one Redis hash, so the per-tenant and per-subject caps hold across processes; a new result evicts only its
 * own tenant's older results (MT-08). Redis's own memory limit is the total cap.
 */
export function createRedisResultStore(redis: RedisCommands, clock: Clock, quotas: ResultQuotas): ResultStore {
  const { maxBytesPerTenant } = quotas;
  const perSubject = Math.min(quotas.maxBytesPerSubject, maxBytesPerTenant);
  return {
    async put(key, result: StoredResult, owner) {
      const size = sizeOfStoredResult(result);
      if (size > perSubject) {
        throw new GatehouseError(
          'payload_too_large',
          `The result is too large to keep as a handle (${size} bytes, at most ${perSubject} per subject)`,
          { reason: 'result_handle_cap', maxBytes: perSubject },
        );
      }
      const now = clock.now();
      const ttl = Math.max(1, Math.ceil(result.expiresAt - now));
      await redis.eval(
        putScript,
        2,
        usagePrefix + hashOf(owner.tenant),
        prefix + key,
        key,
        JSON.stringify(result),
        ttl,
        size,
        hashOf(JSON.stringify([owner.tenant, owner.subject])),
        now,
        Math.ceil(result.expiresAt),
        perSubject,
        maxBytesPerTenant,
        prefix,
      );
    },
    async get(key) {
      const raw = await redis.get(prefix + key);
      if (raw === null) return undefined;
      const result = JSON.parse(raw) as StoredResult;
      return result.expiresAt > clock.now() ? result : undefined;
    },
  };
}

/** Tenant and subject ids never appear in Redis key names or values, only a short hash of them. */
function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}
